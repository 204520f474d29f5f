"""bench/suite.py's aggregate: rliable's statistics over normalized returns say what the runs say."""

import sys

import pytest

from helpers import ROOT

sys.path.insert(0, str(ROOT / "bench"))
pytest.importorskip("rliable", reason="bench/suite.py needs the bench extra: pip install -e '.[bench]'")
import suite  # noqa: E402


def runs(task: str, algo: str, returns: list[float]) -> list[dict]:
    return [{"task": task, "algo": algo, "seed": s + 1, "final_return": r} for s, r in enumerate(returns)]


def test_a_method_better_on_every_run_has_improvement_probability_one_and_a_higher_iqm(tmp_path):
    results = (
        runs("CartpoleBalance", "ppo", [500, 520, 540]) + runs("CartpoleBalance", "fpo", [900, 910, 920])
        + runs("PointMass", "ppo", [300, 310, 320]) + runs("PointMass", "fpo", [700, 710, 720])
        + runs("ReacherHard", "ppo", [100, 120]) + runs("ReacherHard", "fpo", [150, 160, 170])  # 2 vs 3 seeds
    )  # fmt: skip
    lines = suite.aggregate(results, ["ppo", "fpo"], ["CartpoleBalance", "PointMass", "ReacherHard"], tmp_path,
                            "final_return")  # fmt: skip
    # a suite under way: each algorithm at the depth it has finished on every task (seed-major)
    assert lines[0] == "Tasks: CartpoleBalance, PointMass, ReacherHard. Seeds per task: ppo 2, fpo 3."
    rows = {line.split("|")[1].strip(): [c.strip() for c in line.split("|")[2:-1]] for line in lines[4:]}
    ppo_iqm, fpo_iqm = float(rows["ppo"][0]), float(rows["fpo"][0])
    assert 0.10 < ppo_iqm < 0.54 and 0.60 < fpo_iqm < 0.92  # normalized by the tasks' maximum (1000)
    assert rows["fpo"][2] == "1.00" and rows["ppo"][2] == "—"
    assert (tmp_path / "profile.png").stat().st_size > 1000


def test_an_algorithm_without_a_seed_on_every_task_is_left_out_and_said_so(tmp_path):
    results = runs("PointMass", "ppo", [600, 700]) + runs("ReacherHard", "ppo", [500]) + runs("PointMass", "fpo", [9])
    lines = suite.aggregate(results, ["ppo", "fpo"], ["PointMass", "ReacherHard"], tmp_path, "final_return")
    assert lines[0] == "Tasks: PointMass, ReacherHard. Seeds per task: ppo 1; not yet a seed on every task: fpo."
    assert [[cell.strip() for cell in line.split("|")[1:4]] for line in lines[4:]] == [["ppo", "0.550", "– (one seed)"]]
    nothing = suite.aggregate([], ["ppo", "fpo"], ["PointMass"], tmp_path, "final_return")
    assert nothing == ["(no algorithm has finished a seed on every task yet)"]


def test_the_table_gives_each_return_over_the_seeds_that_have_it():
    """A run whose checkpoints are gone (its summary committed from another machine) has no sampled return:
    the column says over how many seeds its mean is."""
    results = [
        {"task": "PointMass", "algo": "fpo", "seed": seed, "final_return": 800.0, "deployed_return": 600.0 + seed,
         "sampled_return": sampled, "env_steps": 100, "end_to_end_steps_per_s": 1000.0, "seconds_per_iteration": 1.0}
        for seed, sampled in ((1, float("nan")), (2, 790.0), (3, 810.0))
    ]  # fmt: skip
    (row,) = suite.per_task_table(results)[2:]
    cells = [cell.strip() for cell in row.split("|")[1:-1]]
    assert cells[5] == "602.0 ± 1.0" and cells[6] == "800.0 ± 14.1 (2 seeds)", cells


def test_the_deployment_gap_is_read_against_both_numbers_own_error():
    """The acceptance (deployed within 5 % of training) needs the gap and the noise of the numbers that measured
    it: 256 episodes with a per-episode std of 160 leave the mean of two seeds uncertain by 7.1, the training
    return's 100 episodes (spread 240, the sampled evaluation's) by 17.0 — 2.3 % of 800 together; against the
    sampled evaluation (256 episodes, std 240) 1.7 % of 760."""
    results = [
        {"task": "FingerTurnEasy", "algo": "cppo", "seed": seed, "final_return": 800.0, "deployed_return": deployed,
         "deployed_return_std": 160.0, "deployed_return_episodes": 256, "sampled_return": 760.0,
         "sampled_return_std": 240.0, "sampled_return_episodes": 256, "env_steps": 100,
         "end_to_end_steps_per_s": 1000.0, "seconds_per_iteration": 1.0}
        for seed, deployed in ((1, 700.0), (2, 740.0))
    ]  # fmt: skip
    (row,) = suite.per_task_table(results)[2:]
    cells = [cell.strip() for cell in row.split("|")[1:-1]]
    assert cells[7] == "-10.0 % (± 2.3)" and cells[8] == "-5.3 % (± 1.7)", cells


def test_a_budget_scale_multiplies_every_budget_and_a_bad_one_is_a_usage_error(capsys):
    assert suite.budget("FingerTurnEasy", 2) == 2 * suite.SUITE["FingerTurnEasy"][0]
    assert suite.budget("PointMass", 1e-12) == 1  # never 0: train_once would read it as the task's default length
    with pytest.raises(SystemExit) as exited:
        suite.main(["--budget-scale", "0"])
    assert exited.value.code == 2
    assert capsys.readouterr().err.strip().splitlines()[-1].endswith(": error: --budget-scale must be > 0, got 0.0")


def test_report_writes_the_page_of_the_finished_runs_and_trains_nothing(tmp_path):
    """`--report` beside a suite under way: seed 1 is finished and evaluated, seed 2 is not — the page has the
    one run and no training starts (train_once would make `runs/PointMass_ppo_seed2/`)."""
    import json

    runs_dir = tmp_path / "runs"
    runs_dir.mkdir()
    summary = {"task": "PointMass", "algo": "ppo", "label": "ppo", "seed": 1, "run_dir": "runs/gone",
               "final_return": 850.0, "env_steps": 2_457_600, "end_to_end_steps_per_s": 1e4,
               "seconds_per_iteration": 1.0}  # fmt: skip
    (runs_dir / "PointMass_ppo_seed1.json").write_text(json.dumps(summary))
    for kind, value in (("deployed", 860.0), ("sampled", 840.0)):
        played = {"deployed_return": value, "std": 50.0, "episodes": suite.EVAL_EPISODES}
        (runs_dir / f"PointMass_ppo_seed1.{kind}.json").write_text(json.dumps(played))
    assert (
        suite.main(["--report", "--tasks", "PointMass", "--algos", "ppo", "--seeds", "2", "--out", str(tmp_path)]) == 0
    )
    page = (tmp_path / "suite.md").read_text()
    assert "`python bench/suite.py --tasks PointMass --algos ppo --seeds 2 --out" in page
    assert "| PointMass | ppo | 1 | 2,457,600 | 850.0 | 860.0 | 840.0 |" in page
    assert sorted(p.name for p in runs_dir.iterdir() if p.is_dir()) == []
