"""docs/extending.md's recipes, followed step by step: a new task on an existing backend, and a new simulator
backend with a task of its own — each trains, plays and exports through train.py and play.py. (The third recipe,
a new algorithm, is followed by tests/test_architecture.py.)"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import pytest
import torch
from tensordict import TensorDict

import envs
import tasks
from cppo.config import AgentCfg, PolicyCfg, PPOCfg
from envs.config import MAX_ENVS, MultiGoalCfg
from envs.vec_env import CppoVecEnv
from helpers import check_backend_contract

# --- recipe 1: a new task on an existing backend ---------------------------------------------------------------


def wide_multigoal_cfg() -> MultiGoalCfg:
    return MultiGoalCfg(num_goals=6, radius=6.0)  # step 1: the env config, with this task's values


def small_ppo() -> AgentCfg:  # step 2: the task's default agent config (PPO settings; every algorithm starts here)
    return AgentCfg(
        algorithm=PPOCfg(learning_rate=1e-3),
        policy=PolicyCfg(actor_hidden_dims=(32, 32), critic_hidden_dims=(32, 32)),
        num_steps_per_env=16,
        max_iterations=2,
    )


@pytest.fixture
def registered(monkeypatch):
    """Registries changed for one test only."""
    monkeypatch.setattr(tasks, "REGISTRY", dict(tasks.REGISTRY))
    monkeypatch.setattr(envs, "BACKENDS", dict(envs.BACKENDS))


def test_recipe_a_new_task(registered, tmp_path, capsys):
    import play
    import train

    # step 3: register it (in tasks/<family>.py, imported by tasks/__init__.py)
    tasks.register(tasks.TaskSpec("WideMultiGoal", "builtin", wide_multigoal_cfg, small_ppo))
    common = ["--task", "WideMultiGoal", "--algo", "cppo", "--log_root", str(tmp_path)]
    assert train.main([*common, "--num_envs", "16"]) == 0
    assert play.main([*common, "--headless", "--num_envs", "4", "--steps", "20"]) == 0
    (run_dir,) = (tmp_path / "WideMultiGoal_cppo").iterdir()
    assert "num_goals: 6" in (run_dir / "params" / "env.yaml").read_text()
    assert (run_dir / "exported" / "policy.onnx").is_file()


# --- recipe 2: a new simulator backend -------------------------------------------------------------------------


@dataclass
class PointLineCfg:  # step 1: a typed config; `limits` states each field's range
    num_envs: int = 64
    seed: int = 0
    episode_length: int = 40
    dt: float = 0.1
    limits: ClassVar[dict[str, str]] = {"num_envs": MAX_ENVS, "episode_length": ">= 1", "dt": "> 0"}


class PointLineEnv(CppoVecEnv):
    """step 2: the env — a point on a line pushed towards 0 (reward 1 − |x|), as the contract asks."""

    cfg: PointLineCfg

    def __init__(self, cfg: PointLineCfg, device: str | torch.device = "cpu"):
        self.cfg, self.device = cfg, torch.device(device)
        self.num_envs, self.num_actions, self.max_episode_length = cfg.num_envs, 1, cfg.episode_length
        self.generator = torch.Generator(device=self.device).manual_seed(cfg.seed)
        self.state = torch.zeros(cfg.num_envs, 2, device=self.device)  # position, velocity
        self.episode_length_buf = torch.zeros(cfg.num_envs, dtype=torch.long, device=self.device)
        self.reset()

    def get_observations(self) -> TensorDict:
        return TensorDict({"policy": self.state.clone()}, batch_size=[self.num_envs])

    def reset_where(self, mask: torch.Tensor) -> None:
        start = torch.rand(self.num_envs, 1, generator=self.generator, device=self.device) * 2 - 1
        fresh = torch.cat([start, torch.zeros_like(start)], dim=-1)
        self.state = torch.where(mask.unsqueeze(-1), fresh, self.state)
        self.episode_length_buf = torch.where(mask, 0, self.episode_length_buf)

    def reset(self) -> TensorDict:
        self.reset_where(torch.ones(self.num_envs, dtype=torch.bool, device=self.device))
        return self.get_observations()

    def step(self, actions: torch.Tensor):
        velocity = self.state[:, 1:] + actions.clamp(-1, 1) * self.cfg.dt
        self.state = torch.cat([self.state[:, :1] + velocity * self.cfg.dt, velocity], dim=-1)
        rewards = 1 - self.state[:, 0].abs()
        self.episode_length_buf += 1
        time_outs = self.episode_length_buf >= self.max_episode_length
        final = self.get_observations()  # before the auto-reset: the critic bootstraps from it
        self.reset_where(time_outs)
        extras = {"time_outs": time_outs.float(), "final_observations": final}
        return self.get_observations(), rewards, time_outs.float(), extras

    @property
    def deployment_info(self) -> dict:
        return {"dt": self.cfg.dt, "action_clip": 1.0}

    def close(self) -> None:
        pass

    def rng_state(self) -> torch.Tensor:  # an optional capability: checkpoints keep the env's stream
        return self.generator.get_state()

    def set_rng_state(self, state: torch.Tensor) -> None:
        self.generator.set_state(state.cpu())


def test_recipe_a_new_backend(registered, tmp_path, capsys):
    import play
    import train

    # step 3: register the backend (envs/__init__.py's BACKENDS), step 4: a task on it
    envs.BACKENDS["pointline"] = envs.Backend(make=lambda task, cfg, device: PointLineEnv(cfg, device))
    tasks.register(tasks.TaskSpec("PointLine", "pointline", PointLineCfg, small_ppo))
    # step 5: the contract test every backend passes
    check_backend_contract(PointLineEnv(PointLineCfg(num_envs=4)))
    common = ["--task", "PointLine", "--algo", "ppo", "--log_root", str(tmp_path)]
    assert train.main([*common, "--max_iterations", "3"]) == 0
    assert train.main([*common, "--max_iterations", "5", "--resume"]) == 0  # the env's stream restored
    assert play.main([*common, "--headless", "--num_envs", "4"]) == 0
    assert "mean return over 4 episodes" in capsys.readouterr().out
    (run_dir,) = (tmp_path / "PointLine_ppo").iterdir()
    assert (run_dir / "exported" / "policy.onnx").is_file() and (run_dir / "model_4.pt").is_file()
