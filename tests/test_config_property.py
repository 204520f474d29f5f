"""A property of the command line: any override string either gives a valid run configuration or one usage error
(one line, exit code 2) — never a traceback. Runs on config assembly only (no env starts), as train.py does
before anything is written."""

import math

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from app.cli import build_configs, parse_train_args
from cppo.checks import validate
from cppo.config import config_paths
from cppo.errors import UsageError
from tasks import REGISTRY, get_task

TASKS = ("CartpoleBalance", "MultiGoal", "Go1JoystickFlatTerrain")
ALGOS = ("ppo", "cppo", "dipole")


def every_key() -> list[str]:
    keys: set[str] = set()
    for name in TASKS:
        task = get_task(name)
        for algo in ALGOS:
            keys |= set(config_paths({"env": task.env_cfg(), "agent": task.agent_cfg(algo)}))
    return sorted(keys)


KEYS = every_key()
numbers = st.one_of(
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, 1, -1, 1e-12, 1e300, -0.0, 0.5, 2]),
).map(str)
texts = st.one_of(
    st.sampled_from(
        ["", "nan", "inf", "-inf", "true", "false", "none", "[]", "()", ",", "1,", ",1", "a,b", "64,64", "0,0"]
    ),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12),
    st.lists(numbers, max_size=4).map(",".join),
)
keys = st.one_of(
    st.sampled_from(KEYS),
    st.sampled_from(KEYS).map(lambda k: k[:-1]),  # a typo
    st.sampled_from(KEYS).map(lambda k: k.replace(".", "_", 1)),
    st.text(max_size=20).filter(lambda k: not k.startswith("-")),  # (a leading "-" makes it a flag, not an override)
)
overrides = st.lists(
    st.tuples(keys, st.one_of(numbers, texts)).map(lambda kv: f"{kv[0]}={kv[1]}"), min_size=1, max_size=4
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@example(task="CartpoleBalance", algo="ppo", overrides=["\n0"], no_equals=False)  # found by this test:
@example(task="MultiGoal", algo="cppo", overrides=["\n=1"], no_equals=False)  # a newline echoed into the line
@given(task=st.sampled_from(TASKS), algo=st.sampled_from(ALGOS), overrides=overrides, no_equals=st.booleans())
def test_any_override_is_accepted_or_one_usage_line(task, algo, overrides, no_equals):
    if no_equals:
        overrides = [o.replace("=", "", 1) for o in overrides]
    try:
        args = parse_train_args(["--task", task, "--algo", algo, *overrides])
        _, env_cfg, agent_cfg = build_configs(args, None, cpu_sizes=True)
    except UsageError as err:
        message = str(err)
        assert message and "\n" not in message and err.exit_code == 2
        return
    # accepted: then it is a configuration train.py can use as it is
    validate(env_cfg, "env.")
    validate(agent_cfg, "agent.")
    assert env_cfg.num_envs >= 1 and math.isfinite(agent_cfg.algorithm.learning_rate)


@pytest.mark.parametrize("algo", ALGOS)
@pytest.mark.parametrize("task", sorted(REGISTRY))
def test_every_registered_default_is_valid(task, algo):
    for cpu_sizes in (False, True):
        build_configs(parse_train_args(["--task", task, "--algo", algo]), None, cpu_sizes=cpu_sizes)
