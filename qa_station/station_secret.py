"""The station's accounts key: a random secret that never goes into the database.

Badges are stored as an HMAC under this key, and so is the fingerprint of a
name typed at sign-in, so a copy of the database alone cannot be used to try
badge numbers or guessed passwords offline. It lives beside the signing key
(``<config>/keys/accounts.key``, owner-only) and is made on first use. The
benches of one floor share it: the database keeps a fingerprint of the key its
badges were enrolled with, and a bench holding another key is told to copy it.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import stat
from pathlib import Path

from qa_station.paths import ensure_dir, write_whole

SECRET_FILE = "accounts.key"
SECRET_BYTES = 32


class SecretError(OSError):
    """The accounts key cannot be read or made (the message says where and why)."""


def load_secret(keys_dir: Path) -> bytes:
    """The station's accounts key, made (0600 in a 0700 folder) when there is none."""
    path = Path(keys_dir) / SECRET_FILE
    try:
        if not path.exists():
            ensure_dir(path.parent, private=True)
            write_whole(path, os.urandom(SECRET_BYTES).hex().encode("ascii") + b"\n")
        if stat.S_IMODE(path.stat().st_mode) & 0o077:
            path.chmod(0o600)
        text = path.read_text("ascii").strip()
        secret = bytes.fromhex(text)
    except (OSError, ValueError) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not a hex key"
        raise SecretError(f"the accounts key {path} cannot be used ({why})") from None
    if len(secret) < 16:
        raise SecretError(f"the accounts key {path} is too short ({len(secret)} bytes)")
    return secret


def fingerprint(secret: bytes) -> str:
    """Names the key without giving it away: equal keys, equal fingerprints."""
    return hmac.new(secret, b"qa-station accounts key fingerprint", hashlib.sha256).hexdigest()[:32]


def keyed(secret: bytes, purpose: str, text: str) -> str:
    """HMAC-SHA256 of ``text`` for one ``purpose`` (badge, typed name), in hex."""
    msg = f"qa-station {purpose}\x1f{text}".encode()
    return hmac.new(secret, msg, hashlib.sha256).hexdigest()
