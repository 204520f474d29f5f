"""bench/tune.py's page: each configuration's score is the mean normalized final return of its finished runs, its
diagnostics are averaged, failures are counted, and a configuration that does not exist is one line."""

import sys

from cppo.algorithms import get_algorithm
from cppo.config import apply_overrides
from helpers import ROOT, one_line_error, run_script
from tasks import get_task

sys.path.insert(0, str(ROOT / "bench"))
import tune  # noqa: E402


def run(task: str, config: str, final: float, **diagnostics: float) -> dict:
    return {"task": task, "label": f"cppo-{config}", "final_return": final, "diagnostics": diagnostics}


def test_the_page_scores_each_configuration_over_its_finished_runs():
    results = [
        run("CartpoleSwingup", "base", 400.0, **{"σ": 0.1}),
        run("ReacherHard", "base", 800.0, **{"σ": 0.3}),
        run("CartpoleSwingup", "minstd0.2", 900.0),
        {"task": "ReacherHard", "label": "cppo-minstd0.2", "error": "exit 1"},
    ]
    lines = tune.page(
        "cppo", tune.DM_CONTROL["cppo"], ["base", "minstd0.2"], ["CartpoleSwingup", "ReacherHard"], results
    )
    rows = {line.split("|")[1].strip(): [cell.strip() for cell in line.split("|")[2:-1]] for line in lines[2:]}
    assert rows["base"][3] == "0.600 (2 runs)" and rows["base"][4] == "0.200"  # (0.4 + 0.8) / 2; σ averaged
    assert rows["minstd0.2"][2] == "–" and rows["minstd0.2"][3] == "0.900 (1 runs), 1 failed"


def test_an_unknown_configuration_is_one_line():
    one_line_error(run_script("bench/tune.py", "--algo", "cppo", "--configs", "fastest"), 2, "fastest", "base")


def test_every_family_tunes_every_algorithm_of_the_fair_protocol():
    """--algo accepts dm_control's algorithms: each family must have a table for each (equal budgets per family)."""
    assert all(set(table) == set(tune.DM_CONTROL) for table, _ in tune.FAMILIES.values())


def test_a_configuration_departs_from_the_algorithm_before_tuning_whatever_the_default_is_now():
    """A resumed tuning run must mean what its first seeds meant: the task's tuned defaults are set back to the
    library's first (a round-3 row re-run after round 4's annealed entropy bonus became CPPO's default ran round 4)."""
    for family, (_, tasks) in tune.FAMILIES.items():
        for algo, tuned in tune.TUNED[family].items():
            cfg = get_task(tasks[0]).agent_cfg(algo)
            assert all(getattr(cfg.algorithm, name) == value for name, value in tuned.items())  # tuned today
            library = get_algorithm(algo).config()
            assert any(getattr(library, name) != value for name, value in tuned.items())  # the test can fail
            apply_overrides({"agent": cfg}, tune.untuned(family, algo))
            assert all(getattr(cfg.algorithm, name) == getattr(library, name) for name in tuned), (family, algo)


def test_a_study_variant_in_a_table_is_the_same_algorithm_plus_its_switches():
    """A configuration that trains a study variant (`--algo=cppo_study`) must accept every override of the algorithm it
    tunes, the pinned `untuned` ones included, and start from the same defaults: else its row is not a tuning step."""
    variants = 0
    for family, (table, tasks) in tune.FAMILIES.items():
        for algo, configs in table.items():
            for name, config in configs.items():
                trained, overrides = tune.variant(algo, config)
                if trained == algo:
                    continue
                variants += 1
                assert issubclass(get_algorithm(trained).config, get_algorithm(algo).config), (family, name)
                task, tuned = get_task(tasks[0]), tune.TUNED[family][algo]
                assert {n: getattr(task.agent_cfg(trained).algorithm, n) for n in tuned} == tuned, (family, name)
                apply_overrides({"agent": task.agent_cfg(trained)}, tune.untuned(family, algo) + overrides)
    assert variants  # the test can fail: dm_control's CPPO round 5 trains cppo_study
