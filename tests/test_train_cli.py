"""train.py as a user runs it: the log layout, resume, and one clear line for every bad input."""

import random
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

import tasks
from cppo.algorithms import REGISTRY as ALGORITHMS
from helpers import ROOT, one_line_error, run_in_process, run_script, scalars

TINY = ["--max_iterations", "2", "env.num_envs=16", "agent.num_steps_per_env=8", "agent.save_interval=1"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    log_root = tmp_path_factory.mktemp("logs")
    result = run_script(
        "train.py", "--task", "CartpoleBalance", "--log_root", str(log_root), "--run_name", "tiny", *TINY
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return log_root


def run_dirs(log_root: Path) -> list[Path]:
    return sorted((log_root / "CartpoleBalance_cppo").iterdir())  # the default algorithm


def test_two_iterations_write_the_rsl_rl_layout(trained):
    (run_dir,) = run_dirs(trained)
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}_\d{2}-\d{2}-\d{2}_tiny", run_dir.name)
    assert (run_dir / "model_0.pt").is_file() and (run_dir / "model_1.pt").is_file()
    assert list(run_dir.glob("events.out.tfevents.*"))
    env_cfg = yaml.safe_load((run_dir / "params" / "env.yaml").read_text())
    agent_cfg = yaml.safe_load((run_dir / "params" / "agent.yaml").read_text())
    assert env_cfg["num_envs"] == 16 and agent_cfg["num_steps_per_env"] == 8
    assert torch.load(run_dir / "model_1.pt", weights_only=True)["iter"] == 1
    for tag in ("Loss/surrogate", "Perf/total_fps", "Policy/mean_std"):
        assert [step for step, _ in scalars(run_dir, tag)] == [0, 1]
    # A flow policy's exploration, beside rsl_rl's tags: the flow's own spread and the share of clipped actions.
    spread, at_limit = scalars(run_dir, "Policy/flow_spread"), scalars(run_dir, "Policy/actions_at_limit")
    assert [step for step, _ in spread] == [0, 1] and all(0 < value < 2 for _, value in spread)
    assert [step for step, _ in at_limit] == [0, 1] and all(0 <= value <= 1 for _, value in at_limit)
    assert [step for step, _ in scalars(run_dir, "Loss/flow_learning_rate")] == [0, 1]
    assert [step for step, _ in scalars(run_dir, "Policy/rollout_std")] == [0, 1]


def test_resume_continues_the_iteration_count_in_the_same_run(trained):
    result = run_script("train.py", "--log_root", str(trained), "--resume", *TINY[2:], "--max_iterations", "4")
    assert result.returncode == 0, result.stderr[-3000:]
    (run_dir,) = run_dirs(trained)  # no new run folder
    assert "resuming from" in result.stdout and "model_1.pt" in result.stdout
    assert (run_dir / "model_3.pt").is_file()
    assert torch.load(run_dir / "model_3.pt", weights_only=True)["iter"] == 3
    assert [step for step, _ in scalars(run_dir, "Loss/surrogate")] == [0, 1, 2, 3]


@pytest.mark.parametrize(
    "args, code, needles",
    [
        (["--task", "CartpoleBalanse"], 2, ["unknown task 'CartpoleBalanse'", "CartpoleBalance"]),
        (["--algo", "sac"], 2, ["unknown algorithm 'sac'", "ppo"]),
        (["agent.algorithm.lerning_rate=1"], 2, ["agent.algorithm.learning_rate"]),
        (["agent.algorithm.learning_rate=fast"], 2, ["agent.algorithm.learning_rate", "fast"]),
        (["--num_envs", "0"], 2, ["num_envs", "0"]),
        (["env.num_envs=-4"], 2, ["num_envs", "-4"]),
        (["--max_iterations", "0"], 2, ["max_iterations"]),
        (["--num_envs", "ten"], 2, ["--num_envs"]),
        (["--algo", "cppo_study", "agent.algorithm.distill_target=median"], 2, ["distill_target", "mean, sample"]),
        (["--algo", "cppo", "agent.algorithm.distill_target=sample"], 2, ["unknown config key", "distill_target"]),
        (["--algo", "cppo", "agent.torch_compile_mode=default"], 2, ["torch_compile_mode=default", "ppo only"]),
        # every config value is validated before an env starts (MultiGoal, as a user tried them)
        (["agent.algorithm.learning_rate=nan"], 2, ["agent.algorithm.learning_rate=nan", "finite number > 0"]),
        (["agent.algorithm.learning_rate=inf"], 2, ["agent.algorithm.learning_rate=inf", "finite number"]),
        (["agent.policy.actor_hidden_dims="], 2, ["agent.policy.actor_hidden_dims", "non-empty"]),
        (["agent.policy.critic_hidden_dims=64,0"], 2, ["agent.policy.critic_hidden_dims=64,0", "integers ≥ 1"]),
        (["agent.num_steps_per_env=-3"], 2, ["agent.num_steps_per_env=-3", "≥ 1"]),
        (["agent.algorithm.num_mini_batches=0"], 2, ["agent.algorithm.num_mini_batches=0", "≥ 1"]),
        (["agent.algorithm.num_mini_batches=7"], 2, ["agent.algorithm.num_mini_batches=7", "must divide", "12800"]),
        (["agent.algorithm.schedule=whatever"], 2, ["agent.algorithm.schedule=whatever", "adaptive, fixed"]),
        (["agent.algorithm.gamma=1.5"], 2, ["agent.algorithm.gamma=1.5", "in [0, 1]"]),
        (["agent.algorithm.clip_param=-1"], 2, ["agent.algorithm.clip_param=-1.0", "> 0"]),
        (["agent.algorithm.learning_rate=0.1"], 2, ["learning_rate=0.1", "max_learning_rate"]),
        (["agent.policy.activation=relu6"], 2, ["agent.policy.activation=relu6", "elu"]),
        (["agent.run_name=a/b"], 2, ["agent.run_name=a/b", "folder name"]),
        (["env.radius=0"], 2, ["env.radius=0.0", "> 0"]),
        (["--algo", "dipole", "agent.offline.steps=0", "--dataset", __file__], 2, ["agent.offline.steps=0", "≥ 1"]),
        (["--algo", "cppo", "agent.offline.pretrain_steps=0", "--pretrain", __file__], 2, ["pretrain_steps=0", "≥ 1"]),
        (["--algo", "cppo", "--pretrain", __file__], 2, ["is not a dataset recorded by play.py --record"]),
        (["--algo", "cppo", "agent.algorithm.min_std=3"], 2, ["agent.algorithm.max_std=2.0", "min_std (3.0)"]),
        (["--task", "MultiGoal", "--device", "tpu9"], 2, ["--device tpu9", "not a torch device"]),
        (["--task", "MultiGoal", "--device", "mps"], 2, ["--device mps", "cpu or cuda"]),
    ],
)
def test_bad_input_is_one_clear_line(args, code, needles, tmp_path, capsys):
    if any(arg.startswith(("agent.", "env.")) or arg == "--pretrain" for arg in args) and "--task" not in args:
        args = ["--task", "MultiGoal", "--max_iterations", "1", *args]
    one_line_error(run_in_process(capsys, "train.py", "--log_root", str(tmp_path), *args), code, *needles)
    assert not any(tmp_path.iterdir()), "a refused command wrote to the log folder"


def test_a_refusal_is_one_line_from_the_real_process_too(tmp_path):
    """What the in-process cases above cannot see: a warning or a message printed while the modules import."""
    result = run_script("train.py", "--log_root", str(tmp_path), "--task", "MultiGoal", "agent.algorithm.gamma=1.5")
    one_line_error(result, 2, "agent.algorithm.gamma=1.5", "in [0, 1]")


@pytest.mark.parametrize(
    ("script", "flags", "needle"),
    [
        ("train.py", ["--task", "CartpolBalance"], "closest: CartpoleBalance"),
        ("train.py", ["--algo", "cpo"], "did you mean cppo"),
        ("train.py", ["--task", "MultiGoal", "agent.algorithm.learning_rte=1e-3"], "agent.algorithm.learning_rate"),
        ("play.py", ["--task", "CartpolBalance"], "closest: CartpoleBalance"),
    ],
)
def test_a_mistyped_name_is_refused_before_torch_is_imported(script, flags, needle):
    """A typo in a task, an algorithm or an override key is the commonest mistake: refusing it costs a blink, not
    the seconds that importing torch and rsl_rl take."""
    probe = (
        "import runpy, sys\n"
        f"sys.argv = [{script!r}, *{flags!r}]\n"
        "try:\n"
        f"    runpy.run_path({script!r}, run_name='__main__')\n"
        "finally:\n"
        "    print('torch imported' if 'torch' in sys.modules else 'torch not imported', file=sys.stderr)\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2, result.stderr
    refusal, probe_line = result.stderr.strip().splitlines()
    assert refusal.startswith(f"{script}: error:") and needle in refusal, refusal
    assert probe_line == "torch not imported"


def test_a_continued_run_is_not_refused_early_for_an_override_of_its_own_algorithm(tmp_path, capsys):
    """`--resume` takes the algorithm from the checkpoint: an FPO++-only key must not be judged against the
    default algorithm's config before the run is found (here there is none, and that is the refusal)."""
    result = run_in_process(
        capsys, "train.py", "--log_root", str(tmp_path), "--resume", "agent.algorithm.samples_per_action=4"
    )
    one_line_error(result, 1, "no run in")


def test_pickled_code_given_as_a_dataset_is_refused_without_advice_to_load_it_unsafely(tmp_path):
    import pickle

    fake = tmp_path / "data.pt"
    fake.write_bytes(pickle.dumps({"format": print}))  # a pickle that names a callable
    result = run_script(
        "train.py",
        "--task",
        "MultiGoal",
        "--algo",
        "cppo",
        "--pretrain",
        str(fake),
        "--log_root",
        str(tmp_path / "logs"),
    )
    line = one_line_error(result, 2, "is not a dataset recorded by play.py --record", "pickled")
    assert "weights_only" not in line and not (tmp_path / "logs").exists()


def test_a_missing_opengl_backend_is_named_with_the_fix(tmp_path):
    """MUJOCO_GL naming a library this machine lacks (here: a made-up one) fails inside `import mujoco`."""
    import os
    import subprocess
    import sys

    from helpers import ROOT

    env = {**os.environ, "MUJOCO_GL": "osmesa", "PYOPENGL_PLATFORM": "osmesa"}
    probe = subprocess.run([sys.executable, "-c", "import mujoco"], env=env, capture_output=True, text=True)
    if probe.returncode == 0:
        pytest.skip("this machine has OSMesa installed: MUJOCO_GL=osmesa works here")
    result = subprocess.run(
        [sys.executable, str(ROOT / "train.py"), "--log_root", str(tmp_path), "--max_iterations", "1"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    one_line_error(result, 1, "MUJOCO_GL=osmesa", "unset MUJOCO_GL", "libosmesa6")
    assert not any(tmp_path.iterdir())


def test_unwritable_log_root_is_one_clear_line(tmp_path, capsys):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    result = run_in_process(capsys, "train.py", "--log_root", str(blocker / "logs"))
    one_line_error(result, 1, "cannot write to log directory", "--log_root")


def test_resume_without_runs_says_the_folder_does_not_exist(tmp_path, capsys):
    result = run_in_process(capsys, "train.py", "--log_root", str(tmp_path), "--resume")
    one_line_error(result, 1, "no run in", "CartpoleBalance_cppo: the folder does not exist")


def test_list_shows_every_task_with_its_backend():
    result = run_script("train.py", "--list")
    assert result.returncode == 0
    algorithms = ",".join(ALGORITHMS)
    assert re.search(rf"CartpoleBalance\s+playground\s+{algorithms}\s+\(default\)", result.stdout)
    assert re.search(rf"MultiGoal\s+builtin\s+{algorithms}\s", result.stdout)
    listed = [line.split()[0] for line in result.stdout.strip().splitlines()[1:]]  # after the header
    assert listed == sorted(tasks.REGISTRY) + ["Isaac-*"]  # every registered task once, then the pass-through


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA GPU")
def test_a_cuda_device_without_cuda_is_one_line(tmp_path, capsys):
    result = run_in_process(
        capsys, "train.py", "--task", "MultiGoal", "--device", "cuda:0", "--log_root", str(tmp_path)
    )
    one_line_error(result, 2, "--device cuda:0", "sees no CUDA GPU", "--device cpu")
    assert not any(tmp_path.iterdir())


def test_a_file_of_random_bytes_is_not_a_checkpoint(tmp_path, capsys):
    noise = tmp_path / "model_7.pt"
    noise.write_bytes(random.Random(0).randbytes(4096))
    result = run_in_process(capsys, "play.py", "--checkpoint", str(noise), "--headless")
    one_line_error(result, 2, "is not a checkpoint")


@pytest.mark.parametrize(
    "argv, resume, overrides",
    [
        (["--resume"], "newest", []),
        (["--resume", "env.num_envs=8"], "newest", ["env.num_envs=8"]),  # the override is not --resume's value
        (["--resume", "auto", "env.num_envs=8"], "auto", ["env.num_envs=8"]),
        (["--resume=auto"], "auto", []),
        ([], None, []),
    ],
)
def test_resume_takes_auto_but_never_swallows_an_override(argv, resume, overrides):
    from app.cli import parse_train_args

    args = parse_train_args(argv)
    assert (args.resume, args.overrides) == (resume, overrides)
