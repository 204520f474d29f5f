"""The main job learns: `python train.py` (CartpoleBalance, CPPO, its default 150 iterations, CPU) reaches a
training return ≥ 900 of 1000 — CPPO test plan 5 (a real Playground task, near its maximum).

Measured over 8 seeds on two floating-point paths (bench/RESULTS.md, "The main job over 8 seeds"): every
seed passes 900 with a margin, on this CPU's MKL path and with MKL_CBWR=COMPATIBLE, so one seed is a test
and not a lottery ticket."""

from helpers import scalars


def test_default_training_run_balances_the_cartpole(balanced_cartpole):
    returns = scalars(balanced_cartpole, "Train/mean_reward")
    assert len(returns) == 150  # the default iterations of the main job
    assert returns[-1][1] >= 900, returns[-10:]
    assert returns[0][1] < 500  # it learned it, it did not start there


def test_fpo_learns_the_cartpole(tmp_path):
    """FPO++ (`--algo fpo`, its tuned dm_control settings) at the main job's sizes, 20 iterations (~1 minute):
    from a return near 15 to ≥ 150. Measured at iteration 20: 199 and 203 (seeds 1, 2), 198 (seed 1,
    MKL_CBWR=COMPATIBLE); at iteration 30 277, 292 and 275, and with the main job's 150 iterations seed 1 ended at
    986 before tuning (docs/fpo.md)."""
    from helpers import train_cartpole

    run = train_cartpole(tmp_path, "--algo", "fpo", "--seed", "1", "--max_iterations", "20")
    returns = scalars(run, "Train/mean_reward")
    assert len(returns) == 20 and returns[0][1] < 100 and returns[-1][1] >= 150, returns[::5]
