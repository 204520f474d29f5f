"""play.py in a real window: MuJoCo's viewer on a virtual X server (Xvfb, Mesa's software OpenGL), looked
at, pressed and closed the way a user does it. Skipped, with the reason, where Xvfb is not installed
(Debian/Ubuntu: `apt install xvfb`; .ci/run installs it when apt is available).

CPPO_SCREENSHOTS=<folder> keeps the windows' screenshots (docs/images/ holds the README's)."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from helpers import ROOT

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
WINDOW_TIMEOUT = 300  # env start-up and JIT on 2 busy cores


@pytest.fixture(scope="module")
def screen():
    pytest.importorskip("Xlib", reason="python-xlib is a dev dependency: pip install -e '.[dev]'")
    from xserver import VirtualDisplay

    try:
        display = VirtualDisplay()
    except FileNotFoundError as err:
        pytest.skip(str(err))
    yield display
    display.close()


class Played:
    """play.py running in a window on `screen`; its output goes to a file the test reads as it grows."""

    def __init__(self, screen, log: Path, *args: str):
        env = {k: v for k, v in os.environ.items() if k != "MUJOCO_GL"}
        env.update(DISPLAY=screen.name, PYTHONUNBUFFERED="1")
        self.log = log
        with open(log, "w") as out:
            self.process = subprocess.Popen(
                [sys.executable, str(ROOT / "play.py"), *args], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
            )
        try:
            # The title is "MuJoCo" until the model is in, then "MuJoCo : <model name>".
            self.window = screen.find_window("MuJoCo : ", WINDOW_TIMEOUT)
        except TimeoutError:
            self.process.kill()
            raise AssertionError(f"no viewer window; play.py said:\n{self.output[-3000:]}") from None

    @property
    def output(self) -> str:
        return self.log.read_text()

    def wait_for(self, text: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.output:
            assert self.process.poll() is None, f"play.py exited ({self.process.returncode}):\n{self.output[-3000:]}"
            assert time.monotonic() < deadline, f"play.py never printed {text!r}:\n{self.output[-3000:]}"
            time.sleep(0.2)

    def close_window(self) -> int:
        self.window.close()
        try:
            return self.process.wait(timeout=60)
        finally:
            if self.process.poll() is None:
                self.process.kill()


def keep_screenshot(pixels: np.ndarray, name: str) -> None:
    folder = os.environ.get("CPPO_SCREENSHOTS")
    if folder:
        import imageio

        imageio.imwrite(Path(folder) / name, pixels)


def changed_pixels(a: np.ndarray, b: np.ndarray) -> int:
    return int((np.abs(a.astype(int) - b.astype(int)).max(axis=-1) > 0).sum())


def test_the_viewer_shows_the_trained_cartpole_and_obeys_its_keys(screen, balanced_cartpole, tmp_path):
    played = Played(
        screen, tmp_path / "play.log", "--task", "CartpoleBalance", "--log_root", str(balanced_cartpole.parents[1]),
        "--num_envs", "4",
    )  # fmt: skip
    assert "cart-pole" in played.window.title
    played.wait_for("[cppo] exported")
    time.sleep(3)  # a few frames in
    first = played.window.screenshot()
    assert first.std() > 20 and len(np.unique(first.reshape(-1, 3), axis=0)) > 100, "the window is blank"
    # A balanced cart-pole moves little and software GL on a loaded machine draws few frames per second: look
    # for movement for up to 20 s rather than in one fixed interval.
    deadline = time.monotonic() + 20
    while changed_pixels(first, later := played.window.screenshot()) <= 100 and time.monotonic() < deadline:
        time.sleep(0.5)
    assert changed_pixels(first, later) > 100, "the picture does not move"
    keep_screenshot(later, "viewer_cartpole.png")

    played.window.press("space")
    played.wait_for("[cppo] paused")
    time.sleep(0.5)
    paused = played.window.screenshot()
    time.sleep(1.0)
    assert changed_pixels(paused, played.window.screenshot()) == 0, "the picture moves while paused"
    played.window.press("space")
    played.wait_for("[cppo] resumed")
    played.window.press("BackSpace")
    played.wait_for("[cppo] reset every env")

    assert played.close_window() == 0, played.output[-3000:]
    assert "[cppo] mean return over" in played.output or "[cppo] no episode ended in" in played.output


def test_a_key_in_the_window_changes_the_command_the_go1_policy_observes(screen, go1_run, tmp_path):
    _, task = go1_run
    dataset = tmp_path / "played.pt"
    played = Played(
        screen, tmp_path / "play.log", *task, "--num_envs", "2", "--command", "0", "0", "0", "--record", str(dataset)
    )
    played.wait_for("[cppo] steer with", timeout=240)  # Go1's env compiles first: a minute or more when loaded
    time.sleep(2)

    # Software GL draws Go1 slowly, and a key pressed before the window polls its events can be lost: press ↑
    # until the viewer has acknowledged two presses, repeating a press only after 30 s without an answer (a
    # late answer can then make it three: the assertion reads the command the viewer last printed).
    def commands_printed() -> int:
        return played.output.count("[cppo] command: ")  # the first is the start-up's --command

    deadline = time.monotonic() + 180
    while commands_printed() < 3:
        printed = commands_printed()
        played.window.press("Up")
        answer_by = time.monotonic() + 30
        while commands_printed() == printed and time.monotonic() < answer_by:
            time.sleep(0.2)
        assert time.monotonic() < deadline, f"the viewer ignored ↑:\n{played.output[-3000:]}"
    time.sleep(3)  # steps with the new command
    keep_screenshot(played.window.screenshot(), "viewer_go1.png")
    assert played.close_window() == 0, played.output[-3000:]
    last = played.output.rsplit("[cppo] command: ", 1)[1].splitlines()[0]
    forward = float(last.split()[1])
    assert last == f"forward {forward:+.2f} m/s, lateral +0.00 m/s, yaw +0.00 rad/s" and forward >= 0.2, last

    from cppo.dataset import read_transitions

    # Env 0's command, step by step (Go1's observation ends with it). The first observation is the reset's,
    # with the command the env sampled; --command holds from the first step on.
    seen = read_transitions(dataset).next_observations["policy"][::2, -3:]
    assert seen[0].tolist() == [0.0, 0.0, 0.0]
    assert np.allclose(seen[-1].numpy(), [forward, 0.0, 0.0])


FRAMING = """
import json, mujoco, sys
import numpy as np
from app.render import scene_camera
from tasks import get_task
from envs import make_env
spec = get_task(sys.argv[1]); cfg = spec.env_cfg(); cfg.num_envs = 1
cfg.menagerie_dir = sys.argv[2]
model = make_env(spec, cfg, "cpu").mj_model
data = mujoco.MjData(model); mujoco.mj_forward(model, data)
renderer = mujoco.Renderer(model, 240, 320)
renderer.enable_segmentation_rendering()
renderer.update_scene(data, camera=scene_camera(model))
ids, kinds = np.moveaxis(renderer.render(), -1, 0)
robot = (kinds == int(mujoco.mjtObj.mjOBJ_GEOM)) & (model.geom_bodyid[np.clip(ids, 0, model.ngeom - 1)] != 0)
rows, cols = np.nonzero(robot)
print(json.dumps({"rows": [int(rows.min()), int(rows.max())], "cols": [int(cols.min()), int(cols.max())]}))
"""


@pytest.mark.parametrize(
    "task", ["CartpoleBalance", pytest.param("Go1JoystickFlatTerrain", marks=pytest.mark.slow)]
)  # Go1 opens on Playground's own "track" camera; the framing the code computes is the cartpole's
def test_the_first_view_shows_the_robot_whole_and_centred(task, menagerie_dir):
    """What the window and --video open on (app.render.scene_camera), rendered offscreen: the robot's pixels."""
    env = {**os.environ, "MUJOCO_GL": os.environ.get("MUJOCO_GL", "egl")}
    result = subprocess.run(
        [sys.executable, "-c", FRAMING, task, str(menagerie_dir)], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-3000:]
    box = json.loads(result.stdout.strip().splitlines()[-1])
    (top, bottom), (left, right) = box["rows"], box["cols"]
    assert top > 0 and bottom < 239 and left > 0 and right < 319, f"the robot is cut off: {box}"
    assert 0.35 <= (bottom - top) / 240 <= 0.9, f"the robot is too small or too large: {box}"
    assert abs((left + right) / 2 - 160) < 0.2 * 320 and abs((top + bottom) / 2 - 120) < 0.25 * 240, box
