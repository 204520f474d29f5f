"""The main job learns: `python train.py` (CartpoleBalance, PPO, CPU) reaches a return ≥ 900 of 1000."""

from helpers import scalars


def test_default_training_run_balances_the_cartpole(balanced_cartpole):
    returns = scalars(balanced_cartpole, "Train/mean_reward")
    assert returns[-1][1] >= 900, returns[-10:]
    assert returns[0][1] < 500  # it learned it, it did not start there
