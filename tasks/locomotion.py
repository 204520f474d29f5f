"""MuJoCo Playground's legged-locomotion tasks (robot models from mujoco_menagerie).

Defaults follow Playground's published brax PPO settings (mujoco_playground/config/locomotion_params.py),
translated to rsl_rl's names: 8192 envs × 20 steps per iteration, 32 mini-batches × 4 epochs, fixed
learning rate 3e-4, γ 0.97, gradient norm 1, clip and networks per task, the critic on "privileged_state"
where the env has it, the env's own domain randomization and episode length. The iteration count spends
the same environment-step budget as Playground's `num_timesteps`.

One exception, the entropy bonus: brax's (0.01, 0.005) acts on a tanh-squashed Gaussian, whose squashing
bounds it; on rsl_rl's plain Gaussian it holds the action std near 1 and Go1 never learns to stand
(H100, 25M steps: return 0.0003 with 0.01, 2.0 with 0.001; bench/RESULTS.md). We take Playground's own
rsl_rl value (`rsl_rl_config`: 0.001).

These sizes want a GPU. A run on a CPU applies `CPU_SIZES` instead (train.py --sizes picks either).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from cppo.config import AgentCfg, PolicyCfg, PPOCfg
from envs.config import PlaygroundEnvCfg
from tasks import TaskSpec, register

NUM_ENVS = 8192
STEPS_PER_ENV = 20  # brax's unroll_length
ENTROPY_COEF = 0.001  # Playground's rsl_rl_config; see the module docstring


@dataclass(frozen=True)
class Locomotion:
    """One task's departures from Playground's default locomotion config."""

    robot: str  # mujoco_menagerie folder
    num_timesteps: int = 100_000_000
    hidden_dims: tuple[int, ...] | None = (512, 256, 128)
    """Actor and critic; None: brax's defaults (actor 128×4, critic 256×5)."""
    clip_param: float = 0.3


TASKS = {
    "Go1JoystickFlatTerrain": Locomotion("unitree_go1", num_timesteps=200_000_000),
    "Go1JoystickRoughTerrain": Locomotion("unitree_go1", num_timesteps=200_000_000),
    "Go1Getup": Locomotion("unitree_go1", num_timesteps=50_000_000),
    "Go1Handstand": Locomotion("unitree_go1"),
    "Go1Footstand": Locomotion("unitree_go1"),
    "T1JoystickFlatTerrain": Locomotion("booster_t1", num_timesteps=200_000_000, clip_param=0.2),
    "T1JoystickRoughTerrain": Locomotion("booster_t1", num_timesteps=200_000_000, clip_param=0.2),
    "G1JoystickFlatTerrain": Locomotion("unitree_g1", num_timesteps=200_000_000, clip_param=0.2),
    "G1JoystickRoughTerrain": Locomotion("unitree_g1", num_timesteps=200_000_000, clip_param=0.2),
    "H1JoystickGaitTracking": Locomotion("unitree_h1", hidden_dims=None),
    "H1InplaceGaitTracking": Locomotion("unitree_h1", hidden_dims=None),
    "BarkourJoystick": Locomotion("google_barkour_vb", hidden_dims=None),
}

# A CPU (2–16 cores) steps a legged robot a few hundred to a few thousand times per second: small batches,
# fewer mini-batches so each still holds a few hundred samples.
CPU_SIZES = {"env.num_envs": 64, "agent.algorithm.num_mini_batches": 4}


def env_cfg(name: str) -> PlaygroundEnvCfg:
    return PlaygroundEnvCfg(env_id=name, num_envs=NUM_ENVS)


def ppo_cfg(name: str) -> AgentCfg:
    task = TASKS[name]
    actor_dims, critic_dims = (task.hidden_dims, task.hidden_dims) if task.hidden_dims else ((128,) * 4, (256,) * 5)
    return AgentCfg(
        algorithm=PPOCfg(
            num_learning_epochs=4,
            num_mini_batches=32,
            clip_param=task.clip_param,
            gamma=0.97,
            lam=0.95,
            entropy_coef=ENTROPY_COEF,
            learning_rate=3e-4,
            schedule="fixed",
            max_grad_norm=1.0,
        ),
        policy=PolicyCfg(actor_hidden_dims=actor_dims, critic_hidden_dims=critic_dims, init_noise_std=1.0),
        num_steps_per_env=STEPS_PER_ENV,
        max_iterations=-(-task.num_timesteps // (NUM_ENVS * STEPS_PER_ENV)),
        save_interval=50,
    )


for _name, _task in TASKS.items():
    # the flow algorithms take PPO's settings and the actor's network size
    register(
        TaskSpec(
            _name,
            "playground",
            partial(env_cfg, _name),
            partial(ppo_cfg, _name),
            menagerie_robot=_task.robot,
            cpu_sizes=CPU_SIZES,
        )
    )
