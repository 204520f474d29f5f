"""rsl_rl VecEnv over a MuJoCo Playground env.

Physics runs in JAX (MJX); learning runs in torch. Each step is one jitted JAX call that steps every
env, auto-resets the ones that ended, and packs everything rsl_rl needs (observations, the *true final*
observations, rewards, dones, time-outs, metrics) into a single float32 [num_envs, width] buffer.
That buffer crosses to torch by DLPack without a copy, and torch sees column views of it: one
hand-off per step, no host round-trip.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import jax
import jax.numpy as jp
import torch
from tensordict import TensorDict

from cppo.errors import CppoError, UsageError
from envs import playground_api
from envs.config import PlaygroundEnvCfg
from envs.vec_env import CppoVecEnv

MENAGERIE_ENV_VAR = "CPPO_MENAGERIE_DIR"
PHYSICS_STATE_FIELDS = ("qpos", "qvel", "mocap_pos", "mocap_quat", "xfrc_applied")


def configure_jax() -> None:
    """How cppo runs JAX, set once before the first env is built (envs.make_env calls it):
    - no preallocation: JAX must not grab 75% of the GPU when torch shares it (read when JAX first starts its
      GPU client, which happens lazily, after this call);
    - compiled XLA programs kept on disk across runs: a second start of the same task and env count skips
      compilation (Go1 on 2 CPU cores: ~45 s → ~15 s to the first step). $JAX_COMPILATION_CACHE_DIR moves it."""
    os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
    if not os.environ.get("JAX_COMPILATION_CACHE_DIR"):
        cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "cppo" / "jax"
        jax.config.update("jax_compilation_cache_dir", str(cache))
    if "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS" not in os.environ:
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)  # start-up compiles many small programs


class Carry(NamedTuple):
    """Everything the jitted step threads through time (a pytree of JAX arrays)."""

    state: Any  # batched Playground State
    episode_length: jax.Array  # int32 [num_envs]
    key: jax.Array


GL_PACKAGES = {"osmesa": "libosmesa6", "egl": "libegl1", "glfw": "libglfw3"}


def playground_modules():
    """Import Playground lazily (its env registry), with a clear message when the extra is not installed, when
    MUJOCO_GL names a missing library, or when the installed version is not the pinned one."""
    try:
        from mujoco_playground import registry
    except ImportError as err:
        raise CppoError(
            f"MuJoCo Playground is not installed ({err}); install it with: pip install -e '.[playground]'"
        ) from None
    except Exception:
        # `import mujoco` loads the OpenGL library MUJOCO_GL names, and fails deep inside if it is missing
        gl = os.environ.get("MUJOCO_GL")
        if gl is None:
            raise
        raise CppoError(
            f"MUJOCO_GL={gl}: MuJoCo cannot load that OpenGL backend on this machine; training needs no OpenGL, so "
            f"unset MUJOCO_GL (rendering needs it installed: apt install {GL_PACKAGES.get(gl, 'its library')})"
        ) from None
    playground_api.check_version()
    return registry


def needs_menagerie(env_id: str) -> bool:
    """dm_control suite envs ship their models; locomotion and manipulation envs read mujoco_menagerie."""
    registry = playground_modules()
    from mujoco_playground import dm_control_suite

    return env_id in registry.ALL_ENVS and env_id not in dm_control_suite.ALL_ENVS


def use_menagerie(menagerie_dir: str, robot: str | None, env_id: str) -> Path:
    """Point Playground at a local mujoco_menagerie folder, so it never tries a git clone.

    Order: the explicit directory, then $CPPO_MENAGERIE_DIR, then Playground's own default path.
    """
    playground_modules()
    chosen = menagerie_dir or os.environ.get(MENAGERIE_ENV_VAR, "") or str(playground_api.menagerie_path())
    path = Path(chosen).expanduser().resolve()
    missing = path if not path.is_dir() else (path / robot if robot and not (path / robot).is_dir() else None)
    if missing is not None:
        raise CppoError(
            f"task {env_id} needs mujoco_menagerie robot models, but '{missing}' does not exist; "
            f"pass --menagerie_dir DIR (or set {MENAGERIE_ENV_VAR}=DIR) with DIR holding "
            f"{robot + '/' if robot else 'the robot folders'}"
        )
    playground_api.set_menagerie_path(path)
    return path


def jax_device_for(device: torch.device):
    """The JAX device that shares memory with a torch device (so DLPack stays zero-copy)."""
    if device.type == "cpu":
        return jax.devices("cpu")[0]
    try:
        gpus = jax.devices("gpu")
    except RuntimeError:
        raise CppoError(
            f"--device {device} asks for a GPU, but JAX sees none; install jax[cuda12] or use --device cpu"
        ) from None
    return gpus[device.index or 0]


def batched_env_fns(env, randomizer: Callable | None, key: jax.Array, num_envs: int):
    """vmapped `reset(per_env, keys)` and `step(per_env, state, actions)`, and `per_env`: the model fields
    domain randomization draws for each env (None without it).

    The per-env fields travel as jit arguments: as closure constants they would be baked into the
    compiled program, so every seed would compile anew and the compilation cache would never hit."""
    if randomizer is None:
        return (
            None,
            (lambda _, keys: jax.vmap(env.reset)(keys)),
            (lambda _, state, actions: jax.vmap(env.step)(state, actions)),
        )
    models, in_axes = randomizer(env.mjx_model, jax.random.split(key, num_envs))
    per_env = jax.tree.map(lambda field, axis: None if axis is None else field, models, in_axes)
    shared = jax.tree.map(lambda field, axis: field if axis is None else None, models, in_axes)
    raw_env = env.unwrapped

    def full_models(fields):
        return jax.tree.map(
            lambda own, common: common if own is None else own, fields, shared, is_leaf=lambda x: x is None
        )

    reset = jax.vmap(playground_api.with_model(raw_env, env.reset), in_axes=(in_axes, 0))
    step = jax.vmap(playground_api.with_model(raw_env, env.step), in_axes=(in_axes, 0, 0))
    return (
        per_env,
        lambda fields, keys: reset(full_models(fields), keys),
        lambda fields, state, actions: step(full_models(fields), state, actions),
    )


def split_observation(obs) -> dict[str, jax.Array]:
    """Playground obs → rsl_rl groups: "policy" ← obs or obs["state"]; "critic" ← obs["privileged_state"]."""
    if not isinstance(obs, dict):
        return {"policy": obs}
    groups = {"policy": obs["state"]}
    if "privileged_state" in obs:
        groups["critic"] = obs["privileged_state"]
    return groups


def flat(x: jax.Array, num_envs: int) -> jax.Array:
    return x.reshape(num_envs, -1).astype(jp.float32)


def with_command(state, command: jax.Array):
    """Batched State whose joystick command (info["command"]: vx, vy, yaw rate) is `command` for every env.

    Playground's joystick envs build the observation and the reward from info["command"] before they
    resample it at the end of a step, so setting it before every step holds the command fixed."""
    current = state.info["command"]
    return state.replace(info={**state.info, "command": jp.broadcast_to(command, current.shape).astype(current.dtype)})


def strongly_typed(x: jax.Array) -> jax.Array:
    """`x` without JAX's "weak type" flag (Python scalars in env code leave it on some leaves)."""
    return x.astype(x.dtype)


def select_where(done: jax.Array, on_done, otherwise):
    """Per-env choice between two batched pytrees."""

    def pick(a, b):
        return jp.where(done.reshape(done.shape + (1,) * (a.ndim - 1)), a, b)

    return jax.tree.map(pick, on_done, otherwise)


class PlaygroundVecEnv(CppoVecEnv):
    """A batch of Playground envs as an rsl_rl VecEnv (see module docstring for the data path)."""

    cfg: PlaygroundEnvCfg
    max_episode_length: int

    def __init__(self, cfg: PlaygroundEnvCfg, device: str | torch.device = "cpu", menagerie_robot: str | None = None):
        registry = playground_modules()
        if cfg.env_id not in registry.ALL_ENVS:
            raise UsageError(f"'{cfg.env_id}' is not a MuJoCo Playground env")
        if needs_menagerie(cfg.env_id):
            use_menagerie(cfg.menagerie_dir, menagerie_robot, cfg.env_id)

        self.cfg = cfg
        self.menagerie_robot = menagerie_robot
        self.device = torch.device(device)
        self.num_envs = cfg.num_envs
        jax_device = self._jax_device = jax_device_for(self.device)
        try:
            overrides: dict = {"impl": cfg.impl}
            if not cfg.observation_noise and "noise_config" in registry.get_default_config(cfg.env_id):
                overrides["noise_config.level"] = 0.0
            env = registry.load(cfg.env_id, config_overrides=overrides)
        except ImportError as err:
            raise CppoError(f"impl='{cfg.impl}' cannot load ({err}); use env.impl=jax") from None
        self.unwrapped = env
        self.num_actions = int(env.action_size)
        self.max_episode_length = int(cfg.episode_length or playground_api.env_config(env).episode_length)
        self.step_dt = float(env.dt)

        with jax.default_device(jax_device):
            key, randomization_key, reset_key = jax.random.split(jax.random.PRNGKey(cfg.seed), 3)
            randomizer = registry.get_domain_randomizer(cfg.env_id) if cfg.domain_randomization else None
            per_env, reset_batch, step_batch = batched_env_fns(env, randomizer, randomization_key, cfg.num_envs)
            per_env = jax.device_put(per_env, jax_device)
            state = jax.jit(reset_batch)(per_env, jax.random.split(reset_key, cfg.num_envs))
            episode_length = jp.zeros(cfg.num_envs, dtype=jp.int32)
            carry = jax.device_put(Carry(state, episode_length, key), jax_device)
            carry = jax.tree.map(strongly_typed, carry)
        # The jitted step takes and returns the carry as a flat list of arrays: flattening Playground's
        # dataclass pytree in Python on every call would cost more than the physics of a small env.
        # On a GPU the step donates the carry's buffers, and a donated buffer must appear once among the
        # step's inputs: reset may return one array in two fields, hence the copies.
        self._carry_leaves, self._carry_def = jax.tree.flatten(jax.tree.map(jp.copy, carry))
        # Each env's first state, the auto-reset target when full_reset is False. An input, never an
        # output of the step: returning it would copy it every step.
        self._first_leaves, self._first_def = jax.tree.flatten(carry.state)
        self._per_env_leaves, self._per_env_def = jax.tree.flatten(per_env)  # flattened once, like the carry

        groups = split_observation(state.obs)
        self.has_command = "command" in state.info and state.info["command"].shape[1:] == (3,)
        """A joystick task: `set_command` can hold its velocity command fixed."""
        self._command = None
        self._obs_widths = {name: flat(x, cfg.num_envs).shape[1] for name, x in groups.items()}
        self._metric_names = sorted(state.metrics)
        self._reset_fn = jax.jit(reset_batch)
        self._step_fn = jax.jit(
            self._make_step(reset_batch, step_batch),
            donate_argnums=() if jax_device.platform == "cpu" else (0,),  # CPU cannot donate buffers
        )
        self._obs = self._unpack_obs(torch.from_dlpack(self._pack_obs(groups)))

    # --- the jitted step -----------------------------------------------------------------------------

    def _pack_obs(self, groups: dict[str, jax.Array]) -> jax.Array:
        return jp.concatenate([flat(groups[name], self.num_envs) for name in self._obs_widths], axis=1)

    def _make_step(self, reset_batch, step_batch):
        num_envs, max_len, full_reset = self.num_envs, self.max_episode_length, self.cfg.full_reset

        def step(carry_leaves: list, first_leaves: list, per_env_leaves: list, actions: jax.Array, command=None):
            carry: Carry = jax.tree.unflatten(self._carry_def, carry_leaves)
            first_state = jax.tree.unflatten(self._first_def, first_leaves)
            per_env = jax.tree.unflatten(self._per_env_def, per_env_leaves)
            state = carry.state if command is None else with_command(carry.state, command)
            stepped = step_batch(per_env, state, jp.clip(actions, -1.0, 1.0))
            episode_length = carry.episode_length + 1
            terminated = stepped.done > 0
            time_out = (episode_length >= max_len) & ~terminated
            done = terminated | time_out

            key, reset_key = jax.random.split(carry.key)
            if full_reset:
                fresh = reset_batch(per_env, jax.random.split(reset_key, num_envs))
                next_state = select_where(done, fresh, stepped)
            else:
                # Like Playground's brax auto-reset: restore data and obs, keep info (its RNG keeps moving).
                next_state = stepped.replace(
                    data=select_where(done, first_state.data, stepped.data),
                    obs=select_where(done, first_state.obs, stepped.obs),
                )
            if command is not None:
                next_state = with_command(next_state, command)
            packed = jp.concatenate(
                [
                    self._pack_obs(split_observation(next_state.obs)),
                    self._pack_obs(split_observation(stepped.obs)),  # true final observation
                    flat(stepped.reward, num_envs),
                    flat(done, num_envs),
                    flat(time_out, num_envs),
                    *(flat(stepped.metrics[name], num_envs) for name in self._metric_names),
                ],
                axis=1,
            )
            episode_length = jp.where(done, 0, episode_length)
            next_leaves = jax.tree.leaves(Carry(next_state, episode_length, key))
            # The same dtypes as the input, none weakly typed: else the second call compiles all over again.
            return [new.astype(old.dtype) for new, old in zip(next_leaves, carry_leaves, strict=True)], packed

        return step

    # --- torch side ----------------------------------------------------------------------------------

    def _unpack_obs(self, buffer: torch.Tensor) -> TensorDict:
        views, start = {}, 0
        for name, width in self._obs_widths.items():
            views[name] = buffer[:, start : start + width]
            start += width
        return TensorDict(views, batch_size=[self.num_envs], device=self.device)

    def get_observations(self) -> TensorDict:
        """Current observations; never resets."""
        return self._obs

    def step(self, actions: torch.Tensor) -> tuple[TensorDict, torch.Tensor, torch.Tensor, dict]:
        actions_jax = jax.dlpack.from_dlpack(actions.detach().to(self.device, torch.float32).contiguous())
        self._carry_leaves, self._packed = self._step_fn(
            self._carry_leaves, self._first_leaves, self._per_env_leaves, actions_jax, self._command
        )
        buffer = torch.from_dlpack(self._packed)  # a view of the JAX buffer, no copy

        obs_width = sum(self._obs_widths.values())
        self._obs = self._unpack_obs(buffer[:, :obs_width])
        final_obs = self._unpack_obs(buffer[:, obs_width : 2 * obs_width])
        scalars = buffer[:, 2 * obs_width :]
        rewards, dones, time_outs = scalars[:, 0], scalars[:, 1], scalars[:, 2]
        extras = {
            "time_outs": time_outs,
            "final_observations": final_obs,
            "log": {name: scalars[:, 3 + i] for i, name in enumerate(self._metric_names)},
        }
        return self._obs, rewards, dones, extras

    def reset(self) -> TensorDict:
        """A fresh episode in every env (the viewer's reset key); each env's auto-reset target stays."""
        carry = self.carry
        key, reset_key = jax.random.split(carry.key)
        per_env = jax.tree.unflatten(self._per_env_def, self._per_env_leaves)
        state = self._reset_fn(per_env, jax.random.split(reset_key, self.num_envs))
        if self._command is not None:
            state = with_command(state, self._command)
        fresh = jax.tree.leaves(Carry(state, jp.zeros_like(carry.episode_length), key))
        self._carry_leaves = [jp.copy(x).astype(old.dtype) for x, old in zip(fresh, self._carry_leaves, strict=True)]
        self._obs = self._unpack_obs(torch.from_dlpack(self._pack_obs(split_observation(state.obs))))
        return self._obs

    @property
    def carry(self) -> Carry:
        return jax.tree.unflatten(self._carry_def, self._carry_leaves)

    @property
    def episode_length_buf(self) -> torch.Tensor:
        # A copy: with buffer donation (GPU) the JAX array is recycled by the next step.
        return torch.from_dlpack(self.carry.episode_length).clone()

    @episode_length_buf.setter
    def episode_length_buf(self, value: torch.Tensor) -> None:
        # The runner assigns random initial lengths; hand JAX its own copy so torch cannot mutate it.
        lengths = value.detach().to(self.device, torch.int32).contiguous()
        # JAX's own copy: the GPU step donates (recycles) this buffer, which must not be torch's memory.
        carry = self.carry._replace(episode_length=jp.copy(jax.dlpack.from_dlpack(lengths)))
        self._carry_leaves = jax.tree.leaves(carry)

    def set_command(self, command: tuple[float, float, float] | None) -> None:
        """Hold the joystick command (forward m/s, lateral m/s, yaw rad/s) fixed in every env; None: the
        env samples its own again. A new value does not recompile the step."""
        if not self.has_command:
            raise UsageError(f"{self.cfg.env_id} takes no velocity command")
        self._command = None if command is None else jax.device_put(jp.asarray(command, jp.float32), self._jax_device)

    def rng_state(self) -> torch.Tensor:
        """The env's JAX key (auto-resets and domain randomization draw from it), for checkpoints."""
        return torch.from_numpy(jax.device_get(self.carry.key).astype("int64"))

    def set_rng_state(self, state: torch.Tensor) -> None:
        key = jax.device_put(jp.asarray(state.cpu().numpy(), dtype=jp.uint32), self._jax_device)
        self._carry_leaves = jax.tree.leaves(self.carry._replace(key=key))

    # --- for play.py: looking at one env, deploying the policy -------------------------------------------

    @property
    def mj_model(self):
        """The host-side MuJoCo model (for rendering and the interactive viewer)."""
        return self.unwrapped.mj_model

    def physics_state(self, index: int = 0) -> dict:
        """Env `index`'s MuJoCo state as numpy arrays: enough to set an MjData and call mj_forward."""
        data = self.carry.state.data
        return jax.device_get({name: getattr(data, name)[index] for name in PHYSICS_STATE_FIELDS})

    @property
    def deployment_info(self) -> dict:
        """What robot-side code must reproduce beside the network (envs.deploy): timing, joints, gains,
        the action rule and the observation layout."""
        from envs.deploy import describe

        info = describe(self.unwrapped, self.mj_model, playground_api.env_config(self.unwrapped))
        info["env_id"] = self.cfg.env_id
        if "model" in info and self.menagerie_robot:
            info["model"]["menagerie_robot"] = self.menagerie_robot
        return info

    def close(self) -> None:
        pass
