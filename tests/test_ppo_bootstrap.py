"""Time-outs bootstrap from V(s_final), the true last observation, not from V(s_t) as rsl_rl does."""

from typing import cast

import torch
from rsl_rl.env import VecEnv
from tensordict import TensorDict

from cppo.config import AgentCfg
from cppo.ppo import PPO


class TwoEnvs:
    """The smallest VecEnv surface PPO.construct_algorithm reads."""

    num_envs, num_actions, device = 2, 1, "cpu"


def make_ppo() -> PPO:
    cfg = AgentCfg().to_runner_dict(critic_group="policy")
    cfg["multi_gpu"] = None
    obs = TensorDict({"policy": torch.zeros(2, 3)}, batch_size=[2])
    return cast(PPO, PPO.construct_algorithm(obs, cast(VecEnv, TwoEnvs()), cfg, "cpu"))


def test_time_out_reward_uses_value_of_final_observation():
    torch.manual_seed(0)
    ppo = make_ppo()
    obs = TensorDict({"policy": torch.randn(2, 3)}, batch_size=[2])
    final = TensorDict({"policy": torch.randn(2, 3) * 5}, batch_size=[2])
    rewards = torch.tensor([1.0, 2.0])
    time_outs = torch.tensor([1.0, 0.0])
    with torch.inference_mode():
        ppo.act(obs)
        ppo.process_env_step(obs, rewards, time_outs.clone(), {"time_outs": time_outs, "final_observations": final})
        v_final = ppo.critic(final).squeeze(-1)
        v_now = ppo.critic(obs).squeeze(-1)
    stored = ppo.storage.rewards[0].squeeze(-1)
    assert torch.allclose(stored[0], rewards[0] + ppo.gamma * v_final[0])
    assert torch.allclose(stored[1], rewards[1])  # not timed out: untouched
    assert not torch.allclose(v_final[0], v_now[0])  # the two rules differ here


def test_without_final_observations_it_is_rsl_rl_behaviour():
    torch.manual_seed(0)
    ppo = make_ppo()
    obs = TensorDict({"policy": torch.randn(2, 3)}, batch_size=[2])
    rewards = torch.tensor([1.0, 2.0])
    time_outs = torch.tensor([1.0, 1.0])
    with torch.inference_mode():
        ppo.act(obs)
        assert ppo.transition.values is not None
        values = ppo.transition.values.squeeze(-1).clone()
        ppo.process_env_step(obs, rewards, time_outs.clone(), {"time_outs": time_outs})
    assert torch.allclose(ppo.storage.rewards[0].squeeze(-1), rewards + ppo.gamma * values)


def logged_rates(tmp_path, *overrides) -> list[float]:
    from helpers import run_script, scalars

    result = run_script("train.py", "--task", "MultiGoal", "--algo", "ppo", "--log_root", str(tmp_path),
                        "--max_iterations", "6", "env.num_envs=64", *overrides)  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    (run_dir,) = (tmp_path / "MultiGoal_ppo").iterdir()
    return [1e-3] + [value for _, value in scalars(run_dir, "Loss/learning_rate")]  # 1e-3: the starting rate


def test_the_adaptive_rate_moves_at_most_the_allowed_factor_per_iteration(tmp_path):
    """rsl_rl's rule changes the rate 1.5× per mini-batch (here 20 per iteration); with
    rate_change_per_iteration=1.5 it changes at most 1.5× per iteration, never above max_learning_rate, and with
    ceiling_decay=linear never above the ceiling's share of the run left."""

    def changes(rates: list[float]) -> list[float]:
        return [max(b / a, a / b) for a, b in zip(rates[:-1], rates[1:], strict=True)]

    free = logged_rates(
        tmp_path / "free", "agent.algorithm.rate_change_per_iteration=0", "agent.algorithm.ceiling_decay=none"
    )
    limited = logged_rates(
        tmp_path / "limited", "agent.algorithm.rate_change_per_iteration=1.5", "agent.algorithm.ceiling_decay=none"
    )
    assert max(changes(limited)) <= 1.5 * (1 + 1e-6), limited
    assert max(changes(free)) > 1.5 * 1.5, free  # rsl_rl's rule, unlimited
    capped = logged_rates(
        tmp_path / "capped", "agent.algorithm.max_learning_rate=2e-3", "agent.algorithm.ceiling_decay=none"
    )
    assert max(capped) <= 2e-3 * (1 + 1e-6) and max(free) > 2e-3, (capped, free)
    # ceiling_decay=linear: iteration i of T may use at most max_learning_rate · (1 − i/T)
    decayed = logged_rates(tmp_path / "decayed", "agent.algorithm.ceiling_decay=linear")
    ceilings = [1e-2 * (1 - i / 6) for i in range(6)]
    assert all(rate <= ceiling * (1 + 1e-6) for rate, ceiling in zip(decayed[1:], ceilings, strict=True)), decayed
    assert any(rate > ceiling for rate, ceiling in zip(free[1:], ceilings, strict=True)), free
