"""Names and files: a certificate's id, where a certificate or report lands, how it is written.

Certificates, rejection reports, lot reports and the qualification's signed
station reports all need the same two guarantees, apart from what goes into
the file: a name that would land outside its folder is refused, and a file is
written whole or not at all. The certificate id is derived here too, from the
serial, the record hash and the issue time alone.
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

from qa_station import paths
from qa_station.certificates.errors import CertificateError
from qa_station.paths import write_whole


def inside(folder: Path, name: str) -> Path:
    """``folder/name``, refusing anything that would land outside ``folder`` (paths.inside)."""
    try:
        return paths.inside(folder, name)
    except paths.UnsafeName as exc:
        raise CertificateError(str(exc)) from None


def certificate_id(serial: str, record_hash: str, issued_us: int) -> str:
    """Deterministic: the same serial, record state and issue time give the same id."""
    h = hashlib.sha256(f"{serial}\x1f{record_hash}\x1f{issued_us}".encode()).digest()
    code = base64.b32encode(h).decode("ascii")[:16]
    return "QAC-" + "-".join(code[i : i + 4] for i in range(0, 16, 4))


def output_path(out: Path | str | None, default_name: str) -> Path:
    """``out`` is a folder (existing, or without a .pdf suffix) or a file path."""
    out = Path(out) if out is not None else Path.cwd()
    if out.is_dir() or out.suffix.lower() != ".pdf":
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CertificateError(
                f"cannot create the folder {out}: {exc.strerror or exc}"
            ) from None
        return inside(out, default_name)
    if not out.parent.is_dir():
        raise CertificateError(f"the folder {out.parent} does not exist")
    return out.resolve()


def write_file(path: Path, data: bytes) -> None:
    """Whole or not at all: a full disk or a read-only folder leaves no half-written PDF."""
    try:
        write_whole(path, data, 0o644)
    except OSError as exc:
        raise CertificateError(f"cannot write {path}: {exc.strerror or exc}") from None
