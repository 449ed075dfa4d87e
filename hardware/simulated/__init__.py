"""The simulated bench: a virtual assembly in a virtual fixture under a simulated probe."""
