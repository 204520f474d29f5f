"""Isaac Lab backend, tested against a stand-in for Isaac Sim.

No machine here can run Isaac Sim (it needs an RTX GPU), so `StandInDirectRLEnv` below is a small torch
env with the surface Isaac Lab's RslRlVecEnvWrapper consumes (num_envs, device, cfg, max_episode_length,
episode_length_buf, `_get_observations`, step → the 5-tuple, extras), and `StandInRslRlWrapper` does what
that wrapper is documented to do (ecosystem.md; isaaclab_rl 0.4.7's vecenv_wrapper.py). What this proves:
our adapter, the agent-config translation and CPPO under rsl_rl's runner work on that interface. What it
cannot prove: that real Isaac Sim behaves like the stand-in (see README, "Isaac Lab").
"""

import importlib.util
import runpy
from types import SimpleNamespace

import pytest
import torch
from tensordict import TensorDict

from cppo.config import CPPOCfg
from cppo.ppo import time_out_bootstrap
from envs.config import IsaacLabEnvCfg
from envs.isaaclab import IsaacLabVecEnv
from helpers import ROOT, one_line_error, run_script
from tasks.isaaclab import agent_cfg_from_isaaclab

# Registered rsl_rl agent configs as `to_dict()` gives them, copied from the isaaclab 2.3.2.post1 wheel
# (PyPI): source/isaaclab_tasks/isaaclab_tasks/manager_based/{locomotion/velocity/config/anymal_d,
# classic/ant, classic/cartpole}/agents/rsl_rl_ppo_cfg.py. Importing them needs Isaac Sim (pxr).
COMMON = {
    "value_loss_coef": 1.0,
    "use_clipped_value_loss": True,
    "clip_param": 0.2,
    "num_learning_epochs": 5,
    "num_mini_batches": 4,
    "schedule": "adaptive",
    "gamma": 0.99,
    "lam": 0.95,
    "desired_kl": 0.01,
    "max_grad_norm": 1.0,
}


def isaaclab_agent(steps, iterations, name, hidden, entropy, lr):
    policy = {"init_noise_std": 1.0, "actor_obs_normalization": False, "critic_obs_normalization": False,
              "actor_hidden_dims": hidden, "critic_hidden_dims": hidden, "activation": "elu"}  # fmt: skip
    return {
        "seed": 42,
        "num_steps_per_env": steps,
        "max_iterations": iterations,
        "save_interval": 50,
        "experiment_name": name,
        "policy": policy,
        "algorithm": {**COMMON, "entropy_coef": entropy, "learning_rate": lr},
    }


REGISTERED = {
    "Isaac-Velocity-Flat-Anymal-D-v0": isaaclab_agent(24, 300, "anymal_d_flat", [128, 128, 128], 0.005, 1.0e-3),
    "Isaac-Ant-v0": isaaclab_agent(32, 1000, "ant", [400, 200, 100], 0.0, 5.0e-4),
    "Isaac-Cartpole-v0": isaaclab_agent(16, 150, "cartpole", [32, 32], 0.005, 1.0e-3),
}


class StandInDirectRLEnv:
    """Stand-in for an Isaac Lab DirectRLEnv: 1-D point masses pushed toward the origin; "policy" and
    "critic" observation groups; terminated beyond |x| > 3, truncated at max_episode_length; auto-resets
    inside step like Isaac Lab; extras["final_obs"] holds the pre-reset observations when asked for."""

    def __init__(self, num_envs=8, max_episode_length=10, finite_horizon=False, compute_final_obs=True):
        self.num_envs, self.max_episode_length, self.device = num_envs, max_episode_length, torch.device("cpu")
        self.cfg = SimpleNamespace(is_finite_horizon=finite_horizon, compute_final_obs=compute_final_obs)
        self.unwrapped = self
        self.step_dt = 0.02
        self.generator = torch.Generator().manual_seed(0)
        self.episode_length_buf = torch.zeros(num_envs, dtype=torch.long)
        self.x, self.v = torch.zeros(num_envs), torch.zeros(num_envs)
        self.closed = False

    def _get_observations(self) -> dict:
        return {"policy": torch.stack([self.x, self.v], 1), "critic": torch.stack([self.x, self.v, self.x.abs()], 1)}

    def _reset_idx(self, ids: torch.Tensor) -> None:
        self.x[ids] = torch.rand(len(ids), generator=self.generator) * 2 - 1
        self.v[ids] = 0.0
        self.episode_length_buf[ids] = 0

    def reset(self):
        self._reset_idx(torch.arange(self.num_envs))
        return self._get_observations(), {}

    def step(self, actions: torch.Tensor):
        self.v = self.v + 0.1 * actions[:, 0]
        self.x = self.x + 0.1 * self.v
        self.episode_length_buf += 1
        reward = -self.x.square()
        terminated = self.x.abs() > 3
        truncated = self.episode_length_buf >= self.max_episode_length
        extras = {"log": {"distance": self.x.abs().mean()}}
        if self.cfg.compute_final_obs:
            extras["final_obs"] = self._get_observations()
        ended = (terminated | truncated).nonzero().flatten()
        self._reset_idx(ended)
        return self._get_observations(), reward, terminated, truncated, extras

    def close(self) -> None:
        self.closed = True


class StandInRslRlWrapper:
    """What Isaac Lab's RslRlVecEnvWrapper documents: reset once at construction; TensorDict observations;
    dones = terminated | truncated; extras["time_outs"] = truncated only for infinite-horizon tasks."""

    def __init__(self, env, clip_actions=None):
        self.env, self.clip_actions = env, clip_actions
        self.num_envs, self.device, self.max_episode_length = env.num_envs, env.device, env.max_episode_length
        self.num_actions = 1
        self.env.reset()

    unwrapped = property(lambda self: self.env.unwrapped)
    cfg = property(lambda self: self.env.cfg)

    @property
    def episode_length_buf(self):
        return self.env.episode_length_buf

    @episode_length_buf.setter
    def episode_length_buf(self, value):
        self.env.episode_length_buf = value

    def get_observations(self) -> TensorDict:
        return TensorDict(self.env._get_observations(), batch_size=[self.num_envs])

    def step(self, actions):
        if self.clip_actions is not None:
            actions = actions.clamp(-self.clip_actions, self.clip_actions)
        obs, reward, terminated, truncated, extras = self.env.step(actions)
        if not self.env.cfg.is_finite_horizon:
            extras["time_outs"] = truncated
        return TensorDict(obs, batch_size=[self.num_envs]), reward, (terminated | truncated).long(), extras

    def close(self):
        self.env.close()


def adapter(**env_kwargs) -> IsaacLabVecEnv:
    return IsaacLabVecEnv(
        StandInRslRlWrapper(StandInDirectRLEnv(**env_kwargs)), IsaacLabEnvCfg(task_id="Isaac-StandIn-v0")
    )


def step_until_time_out(env: IsaacLabVecEnv):
    while True:
        obs, rewards, dones, extras = env.step(torch.zeros(env.num_envs, 1))
        if extras["time_outs"].any():
            return obs, dones, extras


def test_time_outs_are_bootstrapped_from_the_true_final_observation():
    env = adapter()
    obs, dones, extras = step_until_time_out(env)
    final = extras["final_observations"]
    assert isinstance(final, TensorDict) and set(final.keys()) == {"policy", "critic"}
    timed_out = extras["time_outs"].bool()
    assert torch.equal(dones.bool() | timed_out, dones.bool())
    assert not torch.equal(final["policy"][timed_out], obs["policy"][timed_out])  # obs are already reset

    def critic(observations):  # a value function that reads x from the critic group
        return observations["critic"][:, :1]

    values_now = critic(obs)
    bootstrap = time_out_bootstrap(critic, 0.9, extras, values_now)
    assert torch.allclose(bootstrap[timed_out], 0.9 * final["critic"][timed_out, 0])
    assert torch.all(bootstrap[~timed_out] == 0)


def test_finite_horizon_tasks_report_no_time_outs_and_no_final_obs_is_fine():
    env = adapter(finite_horizon=True, compute_final_obs=False)
    for _ in range(12):
        _, _, dones, extras = env.step(torch.zeros(env.num_envs, 1))
        assert extras["time_outs"].dtype == torch.bool and not extras["time_outs"].any()
        assert "final_observations" not in extras and "final_obs" not in extras
    assert dones.shape == (env.num_envs,)


def test_the_runner_drives_the_adapter_with_both_algorithms(tmp_path):
    from cppo.runner import Runner

    for algo in ("ppo", "cppo"):
        env = adapter()
        agent = agent_cfg_from_isaaclab(REGISTERED["Isaac-Cartpole-v0"], algo)
        agent.num_steps_per_env = 10
        runner = Runner(env, agent.to_runner_dict("critic"), log_dir=str(tmp_path / algo), device="cpu", meta={})
        assert runner.alg.critic.obs_groups == ["critic"] and runner.alg.get_policy().obs_groups == ["policy"]
        runner.learn(2)
        assert (tmp_path / algo / "model_1.pt").is_file()
        env.close()
        assert env.wrapped.env.closed


@pytest.mark.parametrize("task", sorted(REGISTERED))
def test_registered_agent_configs_translate(task):
    registered = REGISTERED[task]
    ppo, cppo = agent_cfg_from_isaaclab(registered, "ppo"), agent_cfg_from_isaaclab(registered, "cppo")
    for name, value in registered["algorithm"].items():
        assert getattr(ppo.algorithm, name) == value, name
    assert type(ppo.algorithm).class_name == "cppo.ppo:PPO" and isinstance(cppo.algorithm, CPPOCfg)
    assert ppo.policy.actor_hidden_dims == tuple(registered["policy"]["actor_hidden_dims"])
    assert ppo.policy.critic_hidden_dims == tuple(registered["policy"]["critic_hidden_dims"])
    assert not ppo.policy.obs_normalization and ppo.policy.init_noise_std == 1.0
    assert (ppo.num_steps_per_env, ppo.max_iterations, ppo.save_interval) == (
        registered["num_steps_per_env"], registered["max_iterations"], registered["save_interval"])  # fmt: skip
    assert cppo.policy == ppo.policy and cppo.num_steps_per_env == ppo.num_steps_per_env
    assert cppo.algorithm.learning_rate == ppo.algorithm.learning_rate and cppo.algorithm.gamma == ppo.algorithm.gamma


def test_example_config_runs_cppo_under_rsl_rls_own_runner(tmp_path):
    """The other direction: Isaac Lab's scripts use rsl_rl's OnPolicyRunner directly, with our class names."""
    from rsl_rl.runners import OnPolicyRunner

    example = runpy.run_path(str(ROOT / "examples" / "isaaclab_cppo.py"))
    config = example["cppo_runner_cfg"](REGISTERED["Isaac-Cartpole-v0"], flow_steps=4)
    assert (
        config["algorithm"]["class_name"] == "cppo.cppo:CPPO"
        and config["actor"]["class_name"] == "cppo.flow_policy:FlowPolicy"
    )
    assert example["ANYMAL_D_FLAT"]["actor"]["hidden_dims"] == [128, 128, 128]
    config["num_steps_per_env"] = 10
    runner = OnPolicyRunner(StandInRslRlWrapper(StandInDirectRLEnv()), config, log_dir=str(tmp_path), device="cpu")
    runner.learn(2)
    assert type(runner.alg).__name__ == "CPPO" and (tmp_path / "model_1.pt").is_file()


@pytest.mark.skipif(importlib.util.find_spec("isaaclab") is not None, reason="Isaac Lab is installed here")
def test_without_isaac_lab_an_isaac_task_says_what_to_install(tmp_path):
    for script in ("train.py", "play.py"):
        result = run_script(script, "--task", "Isaac-Velocity-Flat-Anymal-D-v0", "--log_root", str(tmp_path))
        one_line_error(result, 1, "Isaac-Velocity-Flat-Anymal-D-v0", "Isaac Lab is not installed", "pip install")
    assert not any(tmp_path.iterdir())
