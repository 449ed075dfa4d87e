"""The station's files as the tests write them: a one-product catalog file."""

from __future__ import annotations

SM_PC = "iec-61300-3-35-ed2/sm-pc"


def product_toml(
    product_id: str,
    name: str,
    part_numbers: str,
    serial_pattern: str,
    serial_example: str,
    *,
    policy: str | None = None,
    connector: str = "lc-upc",
    fiber: str = "sm",
    rules: str = SM_PC,
) -> bytes:
    """A catalog file of one product with one end, A (``serial_pattern`` is written as a TOML
    literal string: backslashes stay as they are)."""
    end = f'label = "A", connector = "{connector}", fiber = "{fiber}", rules = "{rules}"'
    lines = [
        "schema = 1",
        "[[product]]",
        f'id = "{product_id}"',
        f'name = "{name}"',
        f'part_numbers = ["{part_numbers}"]',
        f"serial_pattern = '{serial_pattern}'",
        f'serial_example = "{serial_example}"',
        *([f'policy = "{policy}"'] if policy else []),
        f"ends = [{{ {end} }}]",
    ]
    return "".join(f"{line}\n" for line in lines).encode("utf-8")
