"""Contract of envs.playground.PlaygroundVecEnv against rsl_rl's VecEnv (CartpoleBalance, CPU, impl=jax)."""

import jax
import pytest
import torch

from envs.config import PlaygroundEnvCfg
from envs.playground import PlaygroundVecEnv

NUM_ENVS, LIMIT = 8, 12


@pytest.fixture(scope="module")
def env():
    return PlaygroundVecEnv(PlaygroundEnvCfg(env_id="CartpoleBalance", num_envs=NUM_ENVS, episode_length=LIMIT, seed=3))


def random_actions(env):
    return torch.rand(env.num_envs, env.num_actions) * 2 - 1


def restart(env):
    env.episode_length_buf = torch.zeros(NUM_ENVS, dtype=torch.long)


def test_vec_env_attributes(env):
    assert env.num_envs == NUM_ENVS and env.num_actions == 1
    assert env.max_episode_length == LIMIT and env.device == torch.device("cpu")
    assert env.cfg.env_id == "CartpoleBalance"


def test_shapes_and_dtypes(env):
    obs, rewards, dones, extras = env.step(random_actions(env))
    assert obs.batch_size == torch.Size([NUM_ENVS]) and list(obs.keys()) == ["policy"]
    assert obs["policy"].shape == (NUM_ENVS, 5) and obs["policy"].dtype == torch.float32
    for tensor in (rewards, dones, extras["time_outs"]):
        assert tensor.shape == (NUM_ENVS,) and tensor.dtype == torch.float32
    assert extras["final_observations"]["policy"].shape == (NUM_ENVS, 5)
    assert all(v.shape == (NUM_ENVS,) for v in extras["log"].values()) and extras["log"]


def test_get_observations_never_resets(env):
    env.step(random_actions(env))
    lengths, first = env.episode_length_buf, env.get_observations()["policy"].clone()
    for _ in range(3):
        assert torch.equal(env.get_observations()["policy"], first)
    assert torch.equal(env.episode_length_buf, lengths)


def test_time_outs_exactly_at_the_limit_with_auto_reset(env):
    restart(env)
    for step in range(1, LIMIT + 1):
        obs, _, dones, extras = env.step(random_actions(env))
        if step < LIMIT:
            assert not dones.any() and not extras["time_outs"].any(), f"early reset at step {step}"
    assert dones.all() and extras["time_outs"].all()
    assert torch.equal(env.episode_length_buf, torch.zeros(NUM_ENVS, dtype=torch.int32))
    # the true final observation is kept, and differs from the observation after the reset
    final = extras["final_observations"]["policy"]
    assert not torch.allclose(final, obs["policy"])
    # after the reset the episode runs on normally
    _, _, dones, _ = env.step(random_actions(env))
    assert not dones.any()


def test_assigned_episode_lengths_are_used(env):
    lengths = torch.arange(NUM_ENVS) % LIMIT
    env.episode_length_buf = lengths
    _, _, dones, extras = env.step(random_actions(env))
    assert torch.equal(dones.bool(), lengths == LIMIT - 1)
    assert torch.equal(env.episode_length_buf, torch.where(lengths == LIMIT - 1, 0, lengths + 1).int())


def test_observations_are_zero_copy_views_of_the_jax_buffer(env):
    obs, rewards, _, _ = env.step(random_actions(env))
    jax_buffer = env._packed
    assert isinstance(jax_buffer, jax.Array)
    assert obs["policy"].data_ptr() == jax_buffer.unsafe_buffer_pointer()
    assert rewards.untyped_storage().data_ptr() == jax_buffer.unsafe_buffer_pointer()


def test_actions_are_clipped_and_change_the_dynamics(env):
    """From one saved state: +50 moves the cart exactly as +1 (clipped to the box), and unlike 0 or +0.5."""
    restart(env)
    env.step(torch.zeros(NUM_ENVS, 1))
    saved = [jax.numpy.copy(leaf) for leaf in env._carry_leaves]  # CPU steps never donate: a copy restores it

    def step_from_saved(action: float) -> torch.Tensor:
        env._carry_leaves = [jax.numpy.copy(leaf) for leaf in saved]
        return env.step(torch.full((NUM_ENVS, 1), action))[0]["policy"].clone()

    pushed, at_limit, half, still = (step_from_saved(action) for action in (50.0, 1.0, 0.5, 0.0))
    assert torch.isfinite(pushed).all() and torch.equal(pushed, at_limit)
    assert not torch.allclose(at_limit, half) and not torch.allclose(half, still)


def test_bad_env_config_values_are_usage_errors():
    from cppo.checks import validate
    from cppo.errors import UsageError

    for field, value, allowed in (
        ("num_envs", 0, "16777216"),
        ("episode_length", -1, "≥ 0"),
        ("impl", "cuda", "jax, warp"),
    ):
        with pytest.raises(UsageError, match=f"env.{field}={value}: must be .*{allowed}"):
            cfg = PlaygroundEnvCfg()
            setattr(cfg, field, value)
            validate(cfg, "env.")


def test_donated_carry_buffers_appear_once_among_the_step_inputs(env):
    """A GPU step donates the carry: a buffer shared with another input (or twice in the carry) makes XLA
    refuse the call. CPUs never donate, so the aliasing is checked directly."""

    def pointers(leaves):
        return [leaf.unsafe_buffer_pointer() for leaf in leaves if leaf.size > 0]

    for _ in range(2):  # after construction, after a step, after the runner assigns episode lengths
        donated = pointers(env._carry_leaves)
        others = set(pointers(env._first_leaves) + pointers(env._per_env_leaves))
        assert len(set(donated)) == len(donated) and not others.intersection(donated)
        env.step(random_actions(env))
        restart(env)
