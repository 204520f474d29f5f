"""Each private-API hook (envs/playground_api.py, cppo/rsl_rl_api.py) does what cppo relies on, on the pinned
versions; another version stops with one line naming the file and the version to install."""

from importlib import metadata
from pathlib import Path
from typing import Any, cast

import pytest
import torch
from rsl_rl.runners import OnPolicyRunner

from cppo import rsl_rl_api
from cppo.config import AgentCfg
from cppo.errors import CppoError
from envs import playground_api


@pytest.mark.parametrize(
    "module, package, other", [(playground_api, "playground", "0.3.0"), (rsl_rl_api, "rsl-rl-lib", "6.0.0")]
)
def test_another_version_is_one_line_naming_the_hooks_file(module, package, other, monkeypatch):
    module.check_version()  # the installed one is the pinned one
    real = metadata.version
    monkeypatch.setattr(metadata, "version", lambda name: other if name == package else real(name))
    with pytest.raises(CppoError, match=rf"{package} {other} is installed.*_api.py.*pip install") as err:
        module.check_version()
    assert "\n" not in str(err.value)


def test_playground_menagerie_path_is_what_its_robot_loaders_read(tmp_path, monkeypatch):
    from mujoco_playground._src import mjx_env

    monkeypatch.setattr(mjx_env, "MENAGERIE_PATH", mjx_env.MENAGERIE_PATH)  # restored after the test
    playground_api.set_menagerie_path(tmp_path)
    assert playground_api.menagerie_path() == tmp_path == Path(mjx_env.MENAGERIE_PATH)


def test_playground_env_config_and_model_swap():
    from mujoco_playground import registry

    env = registry.load("CartpoleBalance")
    assert playground_api.env_config(env).episode_length == 1000
    original, other = env.mjx_model, env.mjx_model.replace(opt=env.mjx_model.opt.replace(timestep=0.123))
    seen = []
    step = playground_api.with_model(env, lambda: seen.append(float(env.mjx_model.opt.timestep)))
    step(other)
    assert seen == [pytest.approx(0.123)] and env.mjx_model is original  # swapped while running, restored after


def test_rsl_rl_logger_hooks_and_the_critic_output_layer(tmp_path):
    from rsl_rl.utils.logger import Logger

    from helpers import make_algorithm

    assert hasattr(OnPolicyRunner, rsl_rl_api.MULTI_PROCESS_HOOK)
    cfg = AgentCfg().to_runner_dict("policy")
    logger = Logger(None, cfg, {}, num_envs=2, is_distributed=False, gpu_world_size=1, gpu_global_rank=0, device="cpu")
    logger.rewbuffer.extend([1.0, 3.0])
    assert rsl_rl_api.episode_returns(logger) == [1.0, 3.0]
    called, patched = [], cast(Any, logger)  # its log() stands in for rsl_rl's, with fewer arguments
    patched.log = lambda **kwargs: called.append(("log", kwargs["it"]))
    original = patched.log
    with rsl_rl_api.after_each_iteration(logger, lambda it: called.append(("after", it))):
        patched.log(it=7)  # as rsl_rl's learn loop calls it, once per iteration
    assert called == [("log", 7), ("after", 7)] and patched.log is original  # restored after
    critic = make_algorithm(AgentCfg()).critic
    layer = rsl_rl_api.output_layer(critic)
    assert isinstance(layer, torch.nn.Linear) and layer.out_features == 1


def test_rsl_rl_logger_writer_takes_tensorboards_restart_mark(tmp_path):
    """rsl_rl's logger opens a SummaryWriter whose file_writer takes the restart (purge) events; the hook is undone
    afterwards. (What the mark does to a continued run's curve: tests/test_cluster.py.)"""
    from rsl_rl.utils.logger import Logger

    cfg = {**AgentCfg().to_runner_dict("policy"), "logger": "tensorboard"}
    logger = Logger(str(tmp_path), cfg, {}, num_envs=2, is_distributed=False, gpu_world_size=1, gpu_global_rank=0,
                    device="cpu")  # fmt: skip
    original = logger.init_logging_writer
    with rsl_rl_api.tensorboard_continues_at(logger, 5):
        logger.init_logging_writer()
    assert logger.init_logging_writer == original and hasattr(logger.writer, "file_writer")
    cast(Any, logger.writer).close()
    from tensorboard.backend.event_processing.event_file_loader import EventFileLoader

    (events,) = tmp_path.glob("events.out.tfevents.*")
    marks = [e for e in EventFileLoader(str(events)).Load() if e.step == 5 and e.HasField("session_log")]
    assert len(marks) == 1
