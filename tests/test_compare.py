"""bench/compare.py: the side-by-side harness produces a table that agrees with the logged scalars, PNG
curves, and picks up where it stopped."""

import re
import sys

import pytest

from helpers import ROOT, scalars

sys.path.insert(0, str(ROOT / "bench"))
import compare  # noqa: E402

ARGS = ["--tasks", "MultiGoal", "--algos", "ppo,cppo", "--seeds", "1", "--budget", "6400"]
TRAIN_FLAGS = ["--", "env.num_envs=64"]  # 64 envs × 50 steps: 2 iterations


@pytest.fixture(scope="module")
def comparison(tmp_path_factory):
    out = tmp_path_factory.mktemp("compare")
    assert compare.main([*ARGS, "--out", str(out), *TRAIN_FLAGS]) == 0
    return out


def table_rows(markdown: str) -> dict[str, list[str]]:
    rows = [line.strip("|").split("|") for line in markdown.splitlines() if line.startswith("| MultiGoal")]
    return {cells[1].strip(): [c.strip() for c in cells] for cells in rows}


def test_table_matches_the_logged_scalars(comparison):
    markdown = (comparison / "compare.md").read_text()
    assert "python bench/compare.py" in markdown  # the command that produced it
    rows = table_rows(markdown)
    assert set(rows) == {"ppo", "cppo"}
    for algo, cells in rows.items():
        (run_dir,) = (comparison / "runs" / f"MultiGoal_{algo}_seed1").iterdir()
        returns = scalars(run_dir, "Train/mean_reward")
        collect = [v for _, v in scalars(run_dir, "Perf/collection_time")]
        learn = [v for _, v in scalars(run_dir, "Perf/learning_time")]
        fps = [v for _, v in scalars(run_dir, "Perf/total_fps")]
        assert [step for step, _ in returns] == [0, 1]
        assert cells[2] == "1" and cells[4] == "6,400"
        assert cells[3] == f"{returns[-1][1]:.1f}"  # one seed: its value, no spread
        assert cells[5] == f"{sum(fps) / len(fps):,.0f}"
        assert cells[7] == f"{sum(c + learned for c, learned in zip(collect, learn, strict=True)) / len(collect):.3f}"
        assert re.fullmatch(r"\d+ \(RSS\)", cells[8]) and 100 < int(cells[8].split()[0]) < 20000


def test_learning_curves_are_written(comparison):
    png = (comparison / "MultiGoal.png").read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 10_000
    assert "![MultiGoal](MultiGoal.png)" in (comparison / "compare.md").read_text()


def test_an_interrupted_comparison_redoes_only_unfinished_runs(comparison, capsys):
    finished = comparison / "runs" / "MultiGoal_ppo_seed1.json"
    unfinished = comparison / "runs" / "MultiGoal_cppo_seed1.json"
    finished_before = finished.read_text()
    (old_cppo_run,) = (comparison / "runs" / "MultiGoal_cppo_seed1").iterdir()
    unfinished.unlink()  # as if killed before cppo's summary was written
    capsys.readouterr()
    assert compare.main([*ARGS, "--out", str(comparison), *TRAIN_FLAGS]) == 0
    trained = [line for line in capsys.readouterr().out.splitlines() if line.endswith("steps")]
    assert trained == ["[compare] MultiGoal_cppo_seed1: 2 iterations × 3200 steps"]
    assert finished.read_text() == finished_before and unfinished.is_file()
    (new_cppo_run,) = (comparison / "runs" / "MultiGoal_cppo_seed1").iterdir()  # the partial run was replaced
    assert new_cppo_run.is_dir() and (old_cppo_run == new_cppo_run or not old_cppo_run.exists())
