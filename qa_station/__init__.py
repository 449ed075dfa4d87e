"""The bench application: catalog, gate, store, controller, CLI and the Qt UI (ui/ only)."""

__version__ = "0.1.0"
