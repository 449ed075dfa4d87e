"""Fixtures the fixture-protocol tests share: the in-memory double and the emulator serving it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from hardware.stages.emulator import FixtureEmulator
from tests.hardware.fixture_double import FixtureDouble


@pytest.fixture
def double() -> FixtureDouble:
    """A fresh double: each test sees only its own calls."""
    return FixtureDouble()


@pytest.fixture
def emulator(double: FixtureDouble) -> Iterator[FixtureEmulator]:
    """The double behind a real pseudo-terminal, stopped after the test."""
    with FixtureEmulator(double) as running:
        yield running
