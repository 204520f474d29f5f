"""MuJoCo's interactive viewer on env 0 of a Playground VecEnv, paced to real time.

It opens on the view `--video` records (app.render.scene_camera), with MuJoCo's side panels hidden (Tab
and Shift+Tab bring them back), and an overlay of what the run is doing. Keys (handled here, on top of
MuJoCo's own mouse and camera controls):

    space            pause / resume the policy (the camera still moves)
    backspace, R     reset every env (the episode in progress is not counted)
    ↑ / ↓            joystick tasks: forward speed ± 0.1 m/s
    ← / →            joystick tasks: yaw rate ± 0.1 rad/s
    , / .            joystick tasks: lateral speed ± 0.1 m/s
    0                joystick tasks: stop (command 0, 0, 0)

Closing the window ends play.py with its summary line.
"""

from __future__ import annotations

import time
from collections import deque

from app.render import scene_camera, set_state

# GLFW key codes → (command index, change): ↑/↓ forward speed, ←/→ yaw rate, ","/"." lateral speed.
JOYSTICK_KEYS = {265: (0, 0.1), 264: (0, -0.1), 263: (2, 0.1), 262: (2, -0.1), 44: (1, 0.1), 46: (1, -0.1)}
STOP_KEY = 48  # "0"
PAUSE_KEY = 32  # space
RESET_KEYS = (259, 82)  # backspace, R


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
    return (updated[0], updated[1], updated[2])


def overlay(
    step: int,
    episode_return: float,
    last_return: float | None,
    command: tuple[float, float, float] | None,
    paused: bool,
    speed: float,
) -> tuple[str, str]:
    """The overlay's two columns (labels, values). `speed`: simulated seconds per wall-clock second."""
    rows = [
        ("step", str(step)),
        ("return", f"{episode_return:.1f}"),
        ("last episode", "-" if last_return is None else f"{last_return:.1f}"),
    ]
    if command is not None:
        rows.append(("command", f"vx {command[0]:+.2f}  vy {command[1]:+.2f}  yaw {command[2]:+.2f}"))
    if paused:
        rows.append(("", "PAUSED (space resumes)"))
    else:
        rows.append(("", "real time" if speed >= 0.95 else f"{speed:.2f}x real time (the policy is slower)"))
    return "\n".join(label for label, _ in rows), "\n".join(value for _, value in rows)


class InteractiveViewer:
    """The viewer window; the play loop calls `poll` before each step and `show` after it."""

    def __init__(self, env, camera: str | None = None, command: tuple[float, float, float] | None = None):
        import mujoco
        import mujoco.viewer

        self.env = env
        self.steerable = env.has_command
        self.command = (command or (0.0, 0.0, 0.0)) if self.steerable else None
        self.data = mujoco.MjData(env.mj_model)
        view = scene_camera(env.mj_model, camera)
        self._keys: list[int] = []  # filled on the viewer's thread, read on the play loop's
        self.paused = False
        self.handle = mujoco.viewer.launch_passive(
            env.mj_model, self.data, key_callback=self._keys.append, show_left_ui=False, show_right_ui=False
        )
        with self.handle.lock():
            for field in ("type", "fixedcamid", "trackbodyid", "distance", "azimuth", "elevation"):
                setattr(self.handle.cam, field, getattr(view, field))
            self.handle.cam.lookat[:] = view.lookat
        keys = "space pause · backspace reset · Tab panels"
        if self.steerable:
            keys += " · ↑/↓ forward · ←/→ turn · , . sideways · 0 stop"
            print("[cppo] steer with ↑/↓ (forward), ←/→ (turn), , and . (sideways), 0 (stop)")
        self.help = keys.replace("·", "|").replace("↑/↓", "up/down").replace("←/→", "left/right")  # MuJoCo's font
        self.next_frame = time.perf_counter()
        self.frame_times: deque[float] = deque(maxlen=50)  # wall-clock times of the last steps shown

    @property
    def running(self) -> bool:
        return self.handle.is_running()

    def poll(self) -> bool:
        """Apply the keys pressed since the last call; True when the envs should be reset."""
        reset = False
        while self._keys:
            key = self._keys.pop(0)
            if key == PAUSE_KEY:
                self.paused = not self.paused
                self.frame_times.clear()  # speed is measured while running
                print("[cppo] paused (space resumes)" if self.paused else "[cppo] resumed")
            elif key in RESET_KEYS:
                reset = True
                print("[cppo] reset every env (the episode in progress is not counted)")
            elif self.command is not None and (updated := joystick_key(self.command, key)) is not None:
                self.command = updated
                self.env.set_command(updated)
                print(f"[cppo] command: {format_command(updated)}")
        return reset

    def show(self, step: int, episode_return: float, last_return: float | None) -> None:
        """Draw env 0's state with the overlay, then wait for the next control period (real time)."""
        import mujoco

        if not self.paused:
            self.frame_times.append(time.perf_counter())
        shown = self.frame_times
        speed = 1.0 if len(shown) < 2 else self.env.step_dt * (len(shown) - 1) / max(shown[-1] - shown[0], 1e-9)
        labels, values = overlay(step, episode_return, last_return, self.command, self.paused, speed)
        with self.handle.lock():
            set_state(self.env.mj_model, self.data, self.env.physics_state(0))
        self.handle.set_texts(
            [
                (None, mujoco.mjtGridPos.mjGRID_TOPLEFT, labels, values),
                (mujoco.mjtFontScale.mjFONTSCALE_100, mujoco.mjtGridPos.mjGRID_BOTTOMLEFT, self.help, ""),
            ]
        )
        self.handle.sync()
        self.next_frame = max(self.next_frame + self.env.step_dt, time.perf_counter() - self.env.step_dt)
        time.sleep(max(0.0, self.next_frame - time.perf_counter()))

    def close(self) -> None:
        self.handle.close()
