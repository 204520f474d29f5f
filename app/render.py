"""Looking at a policy: the first view of a scene (`scene_camera`, shared by the interactive viewer in
app/viewer.py and by videos), offscreen frames written to mp4, and MultiGoal's trajectories as a picture.

Offscreen MuJoCo rendering on a machine without a display needs EGL (libEGL, e.g. `apt install libegl1`)
or OSMesa (`apt install libosmesa6`, then MUJOCO_GL=osmesa). MUJOCO_GL is read when mujoco is first
imported, so `configure_gl` must run before anything imports mujoco (or Playground).
"""

from __future__ import annotations

import math
import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

from cppo.errors import CppoError, UsageError
from cppo.files import partial_path

if TYPE_CHECKING:
    import torch

    from envs.vec_env import CppoVecEnv


def configure_gl(headless: bool) -> bool:
    """Pick MuJoCo's GL backend; True when an interactive viewer can open."""
    interactive = not headless and bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    if not interactive:
        os.environ.setdefault("MUJOCO_GL", "egl")
    return interactive


FILL = 0.6
"""Share of the view's height the robot fills in a framed free camera."""


def scene_camera(model, name: str | None = None):
    """The first view of a task, one choice for the viewer window and for --video (so they agree): the named
    camera; else the model's "track" camera (Playground's locomotion robots have one that follows them); else
    a free camera framed on the robot from its geometry, tracking its floating base if it has one."""
    import mujoco

    camera = mujoco.MjvCamera()
    if name is None and mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_CAMERA, "track") >= 0:
        name = "track"
    if name is not None:
        index = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_CAMERA, name)
        if index < 0:
            names = [mujoco.mj_id2name(model, mujoco.mjtObj.mjOBJ_CAMERA, i) for i in range(model.ncam)]
            raise UsageError(f"--camera: this model has no camera '{name}' (it has: {', '.join(names) or 'none'})")
        camera.type, camera.fixedcamid = mujoco.mjtCamera.mjCAMERA_FIXED, index
        return camera
    center, half_size = robot_extent(model)
    camera.type = mujoco.mjtCamera.mjCAMERA_FREE
    camera.lookat[:] = center
    camera.distance = half_size / (FILL * math.tan(math.radians(model.vis.global_.fovy / 2)))
    camera.azimuth, camera.elevation = 90.0, -15.0  # from the side (-y), slightly above: dm_control's view
    free_joints = [j for j in range(model.njnt) if model.jnt_type[j] == mujoco.mjtJoint.mjJNT_FREE]
    if free_joints:
        camera.type, camera.trackbodyid = mujoco.mjtCamera.mjCAMERA_TRACKING, model.jnt_bodyid[free_joints[0]]
    return camera


def robot_extent(model) -> tuple[list[float], float]:
    """Centre and largest half-size of the box around the robot's geoms at the initial pose (the world's
    own geoms, such as floors and rails, left out): what a framed camera looks at."""
    import mujoco
    import numpy as np

    data = mujoco.MjData(model)
    mujoco.mj_forward(model, data)
    robot = [g for g in range(model.ngeom) if model.geom_bodyid[g] != 0 and model.geom_rbound[g] > 0]
    if not robot:
        return list(model.stat.center), float(model.stat.extent)
    reach = model.geom_rbound[robot][:, None]
    low, high = (data.geom_xpos[robot] - reach).min(axis=0), (data.geom_xpos[robot] + reach).max(axis=0)
    return list((low + high) / 2), float(np.max(high - low) / 2)


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
        self.camera = scene_camera(model, camera)
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
        self.positions = [self.plane(env)]
        self.episode_length = env.episode_length_buf.clone()

    @staticmethod
    def plane(env: CppoVecEnv) -> torch.Tensor:
        positions = env.plane_positions()
        assert positions is not None  # make_recorder chose this recorder for it
        return positions.clone()

    def add(self) -> None:
        # A reset jumps back to the start box: draw an episode break (NaN) instead of a line across.
        position = self.plane(self.env)
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
    if env.mj_model is not None:
        return VideoRecorder(env, directory / f"{name}{VideoRecorder.suffix}", camera=camera)
    if env.plane_positions() is not None:
        return TrajectoryRecorder(env, directory / f"{name}{TrajectoryRecorder.suffix}")
    raise CppoError(f"{type(env).__name__} cannot be recorded")
