"""Time-outs bootstrap from V(s_final), the true last observation, not from V(s_t) as rsl_rl does."""

import torch
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
    return PPO.construct_algorithm(obs, TwoEnvs(), cfg, "cpu")


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
        values = ppo.transition.values.squeeze(-1).clone()
        ppo.process_env_step(obs, rewards, time_outs.clone(), {"time_outs": time_outs})
    assert torch.allclose(ppo.storage.rewards[0].squeeze(-1), rewards + ppo.gamma * values)
