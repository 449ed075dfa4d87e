"""Barcode scanners that read assembly serials (serial / virtual COM mode).

Keyboard-wedge scanners type into the GUI and are handled there, not here.
"""

from hardware.scanners.serial_scanner import (
    ScannerDisconnected,
    ScannerError,
    SerialBarcodeScanner,
)

__all__ = ["ScannerDisconnected", "ScannerError", "SerialBarcodeScanner"]
