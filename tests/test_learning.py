"""The main job learns: `python train.py` (CartpoleBalance, PPO, CPU) reaches a return ≥ 900 of 1000."""

from helpers import run_script, scalars


def test_default_training_run_balances_the_cartpole(tmp_path):
    result = run_script("train.py", "--log_root", str(tmp_path), "--max_iterations", "120", "--seed", "1")
    assert result.returncode == 0, result.stderr[-3000:]
    (run_dir,) = (tmp_path / "CartpoleBalance_ppo").iterdir()
    returns = scalars(run_dir, "Train/mean_reward")
    assert returns[-1][1] >= 900, returns[-10:]
    assert returns[0][1] < 500  # it learned it, it did not start there
