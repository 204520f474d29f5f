import pytest

from cppo.config import AgentCfg, apply_overrides
from cppo.errors import UsageError
from envs.config import PlaygroundEnvCfg


def roots():
    return {"env": PlaygroundEnvCfg(), "agent": AgentCfg()}


def test_overrides_are_typed():
    cfgs = roots()
    apply_overrides(
        cfgs,
        [
            "env.num_envs=64",
            "env.full_reset=true",
            "agent.algorithm.learning_rate=3e-4",
            "agent.policy.actor_hidden_dims=64,32",
            "agent.run_name=abc",
        ],
    )
    assert cfgs["env"].num_envs == 64 and cfgs["env"].full_reset is True
    assert cfgs["agent"].algorithm.learning_rate == pytest.approx(3e-4)
    assert cfgs["agent"].policy.actor_hidden_dims == (64, 32)
    assert cfgs["agent"].run_name == "abc"


def test_unknown_key_suggests_the_closest():
    with pytest.raises(UsageError, match="did you mean agent.algorithm.learning_rate"):
        apply_overrides(roots(), ["agent.algorithm.lerning_rate=1e-3"])


@pytest.mark.parametrize(
    "override", ["env.num_envs=many", "env.full_reset=maybe", "agent.policy.actor_hidden_dims=a,b", "noequals"]
)
def test_bad_values_name_the_key(override):
    with pytest.raises(UsageError) as err:
        apply_overrides(roots(), [override])
    assert override.split("=")[0] in str(err.value)


def test_runner_dict_is_what_rsl_rl_reads():
    cfg = AgentCfg().to_runner_dict(critic_group="critic")
    assert cfg["obs_groups"] == {"actor": ["policy"], "critic": ["critic"]}
    assert cfg["algorithm"]["class_name"] == "cppo.ppo:PPO" and cfg["algorithm"]["rnd_cfg"] is None
    assert {"num_steps_per_env", "save_interval", "actor", "critic", "logger"} <= set(cfg)
