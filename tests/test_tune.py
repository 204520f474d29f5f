"""bench/tune.py's page: each configuration's score is the mean normalized final return of its finished runs, its
diagnostics are averaged, failures are counted, and a configuration that does not exist is one line."""

import sys

from helpers import ROOT, one_line_error, run_script

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


def test_a_family_without_a_table_for_the_algorithm_is_one_line():
    one_line_error(run_script("bench/tune.py", "--family", "builtin", "--algo", "fpo"), 2, "builtin", "fpo")
