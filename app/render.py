"""Looking at a policy: MuJoCo's interactive viewer when a display is present, offscreen frames written
to mp4 otherwise; MultiGoal draws its trajectories as a picture.

Offscreen MuJoCo rendering on a machine without a display needs EGL (libEGL, e.g. `apt install libegl1`)
or OSMesa (`apt install libosmesa6`, then MUJOCO_GL=osmesa). MUJOCO_GL is read when mujoco is first
imported, so `configure_gl` must run before anything imports mujoco (or Playground).
"""

from __future__ import annotations

import os
import time
import warnings
from pathlib import Path

from cppo.errors import CppoError
from cppo.files import partial_path


def configure_gl(headless: bool) -> bool:
    """Pick MuJoCo's GL backend; True when an interactive viewer can open."""
    interactive = not headless and bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    if not interactive:
        os.environ.setdefault("MUJOCO_GL", "egl")
    return interactive


def default_camera(model) -> int | str:
    """Playground's locomotion models have a "track" camera that follows the robot; else the free camera."""
    import mujoco

    return "track" if mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_CAMERA, "track") >= 0 else -1


def set_state(model, data, state: dict) -> None:
    import mujoco

    for name, value in state.items():
        getattr(data, name)[:] = value
    mujoco.mj_forward(model, data)


class VideoRecorder:
    """Renders env 0 of a Playground VecEnv after every step and streams the frames into an mp4."""

    suffix = ".mp4"

    def __init__(self, env, path: Path, width: int = 640, height: int = 480, camera: str | None = None):
        import imageio
        import mujoco

        self.env, self.path = env, path
        model = env.mj_model
        self.data = mujoco.MjData(model)
        try:
            self.renderer = mujoco.Renderer(model, height=height, width=width)
        except Exception as err:  # GL errors come as several exception types across backends
            backend = os.environ.get("MUJOCO_GL", "default")
            raise CppoError(
                f"offscreen rendering failed with MUJOCO_GL={backend} ({str(err).splitlines()[0]}); "
                "install EGL (apt install libegl1) or OSMesa (apt install libosmesa6, then MUJOCO_GL=osmesa)"
            ) from None
        self.camera = camera if camera is not None else default_camera(model)
        self.partial = partial_path(path, keep_suffix=True)  # hidden until complete; ffmpeg reads the .mp4 suffix
        fps = max(1, round(1.0 / env.step_dt))
        # ffmpeg runs as a subprocess (fork + exec at once), which JAX's fork warning does not need to flag.
        warnings.filterwarnings("ignore", message=r"os\.fork\(\) was called", category=RuntimeWarning)
        self.writer = imageio.get_writer(self.partial, format="FFMPEG", fps=fps, codec="libx264", macro_block_size=1)

    def add(self) -> None:
        set_state(self.env.mj_model, self.data, self.env.physics_state(0))
        self.renderer.update_scene(self.data, camera=self.camera)
        self.writer.append_data(self.renderer.render())

    def close(self) -> Path:
        self.writer.close()
        self.renderer.close()
        os.replace(self.partial, self.path)
        return self.path


class TrajectoryRecorder:
    """MultiGoal: the positions of (up to 200) envs over the run, drawn with the goals as a PNG."""

    suffix = ".png"

    def __init__(self, env, path: Path):
        self.env, self.path = env, path
        self.positions = [env.position.clone()]
        self.episode_length = env.episode_length_buf.clone()

    def add(self) -> None:
        # A reset jumps back to the start box: draw an episode break (NaN) instead of a line across.
        position = self.env.position.clone()
        position[self.env.episode_length_buf == 0] = float("nan")
        self.positions.append(position)

    def close(self) -> Path:
        import torch

        from envs.multigoal import plot_trajectories

        plot_trajectories(torch.stack(self.positions).cpu(), self.env.cfg, str(self.path), title=self.path.stem)
        return self.path


def make_recorder(env, directory: Path, name: str, camera: str | None = None):
    """The recorder that suits the env: video for MuJoCo scenes, a trajectory picture for MultiGoal."""
    directory.mkdir(parents=True, exist_ok=True)
    if hasattr(env, "mj_model"):
        return VideoRecorder(env, directory / f"{name}{VideoRecorder.suffix}", camera=camera)
    if hasattr(env, "position") and hasattr(env, "goals"):
        return TrajectoryRecorder(env, directory / f"{name}{TrajectoryRecorder.suffix}")
    raise CppoError(f"{type(env).__name__} cannot be recorded")


# GLFW key codes → (command index, change): ↑/↓ forward speed, ←/→ yaw rate, ","/"." lateral speed.
JOYSTICK_KEYS = {265: (0, 0.1), 264: (0, -0.1), 263: (2, 0.1), 262: (2, -0.1), 44: (1, 0.1), 46: (1, -0.1)}
STOP_KEY = 48  # "0"


def format_command(command) -> str:
    vx, vy, yaw = command
    return f"forward {vx:+.2f} m/s, lateral {vy:+.2f} m/s, yaw {yaw:+.2f} rad/s"


def joystick_key(command: tuple[float, float, float], key: int) -> tuple[float, float, float] | None:
    """The command after a key press in the viewer; None when the key is not a joystick key."""
    if key == STOP_KEY:
        return (0.0, 0.0, 0.0)
    if key not in JOYSTICK_KEYS:
        return None
    index, change = JOYSTICK_KEYS[key]
    updated = list(command)
    updated[index] = round(updated[index] + change, 6)
    return tuple(updated)


class InteractiveViewer:
    """MuJoCo's passive viewer on env 0, paced to real time. Closing the window ends play. On joystick
    tasks the keyboard steers every env (JOYSTICK_KEYS)."""

    def __init__(self, env, command: tuple[float, float, float] | None = None):
        import mujoco
        import mujoco.viewer

        self.env = env
        self.data = mujoco.MjData(env.mj_model)
        self.command, self.pending = command or (0.0, 0.0, 0.0), None
        steerable = getattr(env, "has_command", False)
        self.handle = mujoco.viewer.launch_passive(
            env.mj_model, self.data, key_callback=self.on_key if steerable else None
        )
        if steerable:
            print("[cppo] steer with ↑/↓ (forward), ←/→ (turn), , and . (sideways), 0 (stop)")
        self.next_frame = time.perf_counter()

    def on_key(self, key: int) -> None:
        # Runs on the viewer's thread: only record the new command; the play loop applies it.
        updated = joystick_key(self.pending or self.command, key)
        if updated is not None:
            self.pending = updated

    @property
    def running(self) -> bool:
        return self.handle.is_running()

    def show(self) -> None:
        if self.pending is not None:
            self.command, self.pending = self.pending, None
            self.env.set_command(self.command)
            print(f"[cppo] command: {format_command(self.command)}")
        with self.handle.lock():
            set_state(self.env.mj_model, self.data, self.env.physics_state(0))
        self.handle.sync()
        self.next_frame += self.env.step_dt
        time.sleep(max(0.0, self.next_frame - time.perf_counter()))

    def close(self) -> None:
        self.handle.close()
