from __future__ import annotations

from qa_station.cli import main
from qa_station.paths import station_paths


def test_no_command_tours_the_grading_on_the_simulated_optics(capsys):
    assert main([]) == 0
    out = capsys.readouterr().out
    tour = station_paths().data_dir / "tour"
    assert sorted(p.name for p in tour.glob("*.png")) == [
        "clean-lc-upc.png",
        "dusty-lc-upc.png",
        "scratched-mpo12-fibre-5.png",
    ]
    assert "clean-lc-upc.png: PASS" in out
    assert "dusty-lc-upc.png: FAIL" in out
    assert "scratched-mpo12-fibre-5.png: FAIL" in out
