"""bench/stories.py on tiny sizes, so that it keeps working."""

from __future__ import annotations

import pytest

from bench.stories import main


def test_the_bench_prints_scores_and_costs(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--stored", "300", "--probes", "20", "--runs", "2"]) == 0
    out = capsys.readouterr().out
    assert "heldout" in out and "tuning" in out and "minhash index (this)" in out
    assert "run 2:" in out and "exact fingerprint" in out and "brute-force" in out
