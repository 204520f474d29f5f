import pytest

import tasks
from cppo.errors import CppoError, UsageError
from envs.playground import MENAGERIE_ENV_VAR, use_menagerie
from tasks.dm_control import DM_CONTROL_TASKS


def test_every_playground_dm_control_task_is_registered():
    from mujoco_playground import dm_control_suite

    assert set(DM_CONTROL_TASKS) == set(dm_control_suite.ALL_ENVS)
    assert all(tasks.get_task(name).backend == "playground" for name in DM_CONTROL_TASKS)


def test_each_task_builds_fresh_typed_defaults():
    spec = tasks.get_task(tasks.DEFAULT_TASK)
    first, second = spec.agent_cfg("ppo"), spec.agent_cfg("ppo")
    first.algorithm.learning_rate = 123.0
    assert second.algorithm.learning_rate != 123.0  # no shared mutable defaults
    assert spec.env_cfg().env_id == "CartpoleBalance"


def test_unknown_task_names_the_closest():
    with pytest.raises(UsageError, match="closest: CartpoleSwingup"):
        tasks.get_task("CartpoleSwingUp")


def test_missing_menagerie_names_the_directory_and_the_flag(tmp_path, monkeypatch):
    monkeypatch.delenv(MENAGERIE_ENV_VAR, raising=False)
    with pytest.raises(CppoError) as err:
        use_menagerie(str(tmp_path / "nowhere"), "unitree_go1", "Go1JoystickFlatTerrain")
    assert "nowhere" in str(err.value) and "--menagerie_dir" in str(err.value) and MENAGERIE_ENV_VAR in str(err.value)
    with pytest.raises(CppoError, match="unitree_go1"):
        use_menagerie(str(tmp_path), "unitree_go1", "Go1JoystickFlatTerrain")  # folder exists, robot does not


def test_menagerie_from_the_environment_variable(menagerie_dir, monkeypatch):
    from mujoco_playground._src import mjx_env

    monkeypatch.setenv(MENAGERIE_ENV_VAR, str(menagerie_dir))
    monkeypatch.setattr(mjx_env, "MENAGERIE_PATH", mjx_env.MENAGERIE_PATH)  # restored after the test
    assert use_menagerie("", "unitree_go1", "Go1JoystickFlatTerrain") == menagerie_dir.resolve()
    assert mjx_env.MENAGERIE_PATH == menagerie_dir.resolve()
