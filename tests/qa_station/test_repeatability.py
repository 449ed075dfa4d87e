"""Repeatability and reproducibility: the statistics by hand, and a study on the simulated bench."""

from __future__ import annotations

import io
import re
import sys
from pathlib import Path

import pytest

from qa_station.bench import open_bench
from qa_station.catalog import load_catalog
from qa_station.cli import main
from qa_station.config import StationConfig
from qa_station.qualification.msa import fleiss_kappa, gauge_rr, majority_agreement
from qa_station.qualification.repeatability import StudyError, run_study

WIKIPEDIA_TABLE = [  # Fleiss (1971) as worked on Wikipedia: 10 subjects, 14 raters, kappa 0.210
    [0, 0, 0, 0, 14],
    [0, 2, 6, 4, 2],
    [0, 0, 3, 5, 6],
    [0, 3, 9, 2, 0],
    [2, 2, 8, 1, 1],
    [7, 7, 0, 0, 0],
    [3, 2, 6, 3, 0],
    [2, 5, 3, 2, 2],
    [6, 5, 2, 1, 0],
    [0, 2, 2, 3, 7],
]


def test_fleiss_kappa_of_the_worked_example():
    ratings = [
        [c for c, n in zip("abcde", row, strict=True) for _ in range(n)] for row in WIKIPEDIA_TABLE
    ]
    assert fleiss_kappa(ratings) == pytest.approx(0.210, abs=0.001)
    assert fleiss_kappa([["pass", "pass"], ["fail", "fail"]]) == pytest.approx(1.0)
    assert fleiss_kappa([["fail"] * 10] * 12) is None  # every rating the same: undefined
    with pytest.raises(ValueError, match="same number"):
        fleiss_kappa([["a", "b"], ["a"]])


def test_gauge_rr_separates_repeatability_from_reproducibility():
    same = gauge_rr([[5.0, 5.2, 4.8], [5.0, 5.2, 4.8]])
    assert same.reproducibility_sd == pytest.approx(0.0)
    assert same.repeatability_sd == pytest.approx(0.2)
    assert same.percent_of(5.0) == pytest.approx(100 * 6 * 0.2 / 5)
    apart = gauge_rr([[5.0, 5.0, 5.0], [6.0, 6.0, 6.0]])
    assert apart.repeatability_sd == 0.0 and apart.reproducibility_sd == pytest.approx(
        0.7071, abs=1e-3
    )
    assert majority_agreement(["pass", "pass", "fail", "pass"]) == 0.75


@pytest.fixture(scope="module")
def study():
    """Three trials by each of two operators on the gauge trunk's end A."""
    config = StationConfig()
    identified = load_catalog().identify("T12B-000123")
    bench = open_bench(config, "simulated", "simulated", realtime=False)
    try:
        bench.load(identified, "gauge")
        end = identified.product.end("A")
        seats = []

        def reseat(op: str, n: int) -> None:
            bench.simulated.reseat("A")
            seats.append(bench.simulated._seat)

        s = run_study(bench, identified.serial, end, 3, ("ann", "bob"), reseat)
    finally:
        bench.close()
    assert len(set(seats)) == 6  # the connector sat differently every time
    return s


def test_a_study_rates_every_fibre_in_every_trial(study):
    figs = study.figures()
    assert figs["ratings"] == 12 * 6
    assert figs["verdict_agreement"] >= 0.99
    assert figs["fleiss_kappa"] == pytest.approx(1.0)  # gauge: odd fibres fail, even pass
    assert figs["fibres_mid_size"] == 6
    assert figs["largest_sd_um_mid_max"] <= 0.3
    assert figs["scale_measurements"] == 6 and figs["scale_relative_sd"] < 0.005
    per = study.fibre_figures()
    assert [f.fibre for f in per] == list(range(1, 13))
    assert all(f.within == 2 and f.operators == 2 for f in per)
    assert all(set(f.grr_percent) == {2.0, 5.0} for f in per)  # the zone B limits of sm-apc
    payload = study.to_payload()
    assert payload["fibres"][0]["verdicts"] in ("ffffff", "pppppp")


def test_a_study_needs_two_trials_and_distinct_operators():
    config = StationConfig()
    identified = load_catalog().identify("T12B-000123")
    bench = open_bench(config, "simulated", "simulated", realtime=False)
    try:
        end = identified.product.end("A")
        with pytest.raises(StudyError, match="--trials must be 2 to 50; got 1"):
            run_study(bench, identified.serial, end, 1, ("ann",), lambda o, n: None)
        with pytest.raises(StudyError, match="name each operator once"):
            run_study(bench, identified.serial, end, 3, ("ann", "ann"), lambda o, n: None)
    finally:
        bench.close()


def test_the_repeatability_command_records_the_study_and_its_report_verifies(capsys, tmp_path):
    def qa(*args: str, stdin: str = "") -> tuple[int, str, str]:
        sys.stdin = io.StringIO(stdin)
        try:
            code = main(list(args))
        finally:
            sys.stdin = sys.__stdin__
        out, err = capsys.readouterr()
        return code, out, err

    assert qa("user", "add", "root", "--password-stdin", stdin="root-password-1\n" * 2)[0] == 0
    args = ("user", "add", "sam", "--role", "supervisor", "--admin", "root", "--password-stdin")
    assert qa(*args, stdin="root-password-1\nsam-password-1\nsam-password-1\n")[0] == 0
    code, out, err = qa(
        "qualify", "repeatability", "--serial", "T12B-000123", "--end", "A", "--trials", "2",
        "--operators", "ann,bob", "--scenario", "gauge", "--supervisor", "sam",
        "--password-stdin", "-o", str(tmp_path), stdin="sam-password-1\n",
    )  # fmt: skip
    assert code == 0, err
    assert re.search(r"48 fibre verdicts, agreement 100\.0%", out), out
    pdf = Path(re.search(r"report: (\S+\.pdf)", out).group(1))
    code, out, _ = qa("verify", str(pdf))
    assert code == 0 and "VALID: repeatability study QAR-" in out, out
    code, _, err = qa(
        "qualify", "repeatability", "--serial", "T12B-000123", "--end", "Z", "--supervisor",
        "sam", "--password-stdin", stdin="sam-password-1\n",
    )  # fmt: skip
    assert code == 2 and "has no end 'Z'" in err
