"""Cleaning methods and tools (seed 000, and the cassette bulletin, seed 001).

Dry first (a one-click cleaner or a lint-free cassette); wet-to-dry (one drop
of approved solvent on the cleaning medium, never on the ferrule) when
residue or oil is there. Pinned (male) MT connectors need the male-MT
cassette, whose slotted backing lets the ribbon reach the fibres.
"""

DRY_METHODS = ("dry-one-click", "dry-cassette")
WET_METHODS = ("wet-to-dry",)
METHODS = DRY_METHODS + WET_METHODS

DESCRIPTIONS = {
    "dry-one-click": "dry, one-click cleaner",
    "dry-cassette": "dry, cassette (advance 3 positions, one pull across the ribbon)",
    "wet-to-dry": "wet-to-dry (one drop of solvent on the ribbon, then the dry section)",
}
