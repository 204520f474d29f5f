"""DIPOLE's pieces (dipole.md): bounded weights, the guided sampler (ω = 0 is π⁺), the dichotomous fit
(π⁺ leans to high-advantage actions, π⁻ to low ones, larger ω is greedier), save/load, and clear errors."""

import re

import pytest
import torch
from rsl_rl.storage import RolloutStorage
from tensordict import TensorDict

from cppo.checks import validate
from cppo.config import AgentCfg, PolicyCfg
from cppo.dipole.config import DipoleCfg
from cppo.dipole.update import DIPOLE, dipole_weights
from cppo.errors import UsageError
from cppo.flow import sample_flow
from helpers import make_algorithm, one_line_error, run_script, scalars


def make_dipole(obs_dim=3, num_actions=2, num_envs=8, **fields) -> DIPOLE:
    agent = AgentCfg(
        algorithm=DipoleCfg(**fields), policy=PolicyCfg(actor_hidden_dims=(32, 32), critic_hidden_dims=(32,))
    )
    return make_algorithm(agent, obs_dim, num_actions, num_envs)


def randomize(alg: DIPOLE) -> DIPOLE:
    with torch.no_grad():
        for p in alg.actor.parameters():
            p.add_(0.3 * torch.randn_like(p))
    return alg


@pytest.mark.parametrize("beta", [0.1, 1.0, 10.0, 1000.0])
@pytest.mark.parametrize("shift", [-5.0, 0.0, 5.0])
def test_weights_always_lie_strictly_between_zero_and_one(beta, shift):
    advantages = torch.cat([torch.randn(1000), torch.tensor([-1e6, -50.0, -17.0, 0.0, 17.0, 50.0, 1e6])])
    w = dipole_weights(advantages, beta, shift)
    assert ((w > 0) & (w < 1) & (1 - w > 0)).all()  # both π⁺ and π⁻ keep every sample
    order = advantages.argsort()
    assert (w[order].diff() >= 0).all()  # a better action never weighs less in π⁺


@pytest.mark.parametrize("shared", [False, True], ids=["two-networks", "shared-network"])
def test_omega_zero_samples_exactly_pi_plus_for_the_same_noise(shared):
    torch.manual_seed(0)
    actor = randomize(make_dipole(shared_network=shared, integrator="midpoint")).actor
    s, noise = torch.randn(64, 3), torch.randn(64, 2)
    positive, negative = actor.flows()
    pi_plus = sample_flow(positive, s, noise, actor.flow_steps, actor.integrator).clamp(-1, 1)
    assert torch.equal(actor.sample(s, noise, omega=0.0), pi_plus)
    assert not torch.allclose(actor.sample(s, noise, omega=1.0), pi_plus)
    pi_minus = sample_flow(negative, s, noise, actor.flow_steps, actor.integrator).clamp(-1, 1)
    assert not torch.allclose(pi_minus, pi_plus)  # two distinct policies, also when they share a network


def test_fresh_flows_sample_the_noise_itself():
    actor = make_dipole().actor
    s, noise = torch.randn(32, 3), torch.randn(32, 2)
    for omega in (0.0, 1.0, 4.0):
        assert torch.equal(actor.sample(s, noise, omega), noise.clamp(-1, 1))  # zero-initialized outputs: v⁺ = v⁻ = 0


def test_act_stores_the_rollout_a_critic_update_needs():
    alg = make_dipole(num_envs=16)
    obs = TensorDict({"policy": torch.randn(16, 3)}, batch_size=[16])
    actions = alg.act(obs)
    assert actions.shape == (16, 2) and actions.abs().max() <= 1.0
    values, stored_obs = alg.transition.values, alg.transition.observations
    assert values is not None and stored_obs is not None and values.shape == (16, 1)
    other = TensorDict({"policy": obs["policy"] + 1.0}, batch_size=[16])
    assert not torch.equal(values, alg.critic(other))  # the values of *these* observations
    assert torch.equal(stored_obs["policy"], obs["policy"])


def test_the_fit_splits_a_bimodal_rollout_by_advantage_and_omega_makes_it_greedier():
    """Actions ±0.5 (equally often) with advantage +1 for +0.5 and −1 for −0.5. With β = 2, π⁺ should give the
    good mode the weight σ(2) ≈ 0.88 of the behaviour's 0.5, π⁻ the weight 0.12, and guidance more."""
    torch.manual_seed(0)
    n = 1024
    alg = make_dipole(obs_dim=2, num_actions=1, beta=2.0, learning_rate=3e-3)
    good = torch.rand(n) < 0.5
    actions = (torch.where(good, 0.5, -0.5) + 0.05 * torch.randn(n)).unsqueeze(-1)
    advantages = torch.where(good, 1.0, -1.0).unsqueeze(-1)
    batch = RolloutStorage.Batch(
        observations=TensorDict({"policy": torch.randn(n, 2)}, batch_size=[n]),
        actions=actions, values=torch.zeros(n, 1), returns=advantages, advantages=advantages,
    )  # fmt: skip
    for _ in range(400):
        alg.step(batch)

    s = alg.actor.observation(TensorDict({"policy": torch.randn(4000, 2)}, batch_size=[4000]))
    noise = torch.randn(4000, 1)
    positive, negative = alg.actor.flows()
    good_share = lambda a: (a > 0).float().mean().item()  # noqa: E731
    pi_plus = good_share(sample_flow(positive, s, noise, alg.actor.flow_steps, alg.actor.integrator))
    pi_minus = good_share(sample_flow(negative, s, noise, alg.actor.flow_steps, alg.actor.integrator))
    assert pi_plus == pytest.approx(torch.sigmoid(torch.tensor(2.0)).item(), abs=0.07)
    assert pi_minus == pytest.approx(torch.sigmoid(torch.tensor(-2.0)).item(), abs=0.07)
    greedy = [good_share(alg.actor.sample(s, noise, omega)) for omega in (0.0, 0.5, 1.0, 2.0)]
    assert greedy[0] == pytest.approx(pi_plus)
    assert all(later >= earlier for earlier, later in zip(greedy, greedy[1:], strict=False)) and greedy[-1] > 0.97, (
        greedy
    )


@pytest.mark.parametrize("shared", [False, True], ids=["two-networks", "shared-network"])
def test_save_load_round_trip_gives_identical_actions_for_identical_noise(shared):
    torch.manual_seed(0)
    trained = randomize(make_dipole(shared_network=shared))
    fresh = make_dipole(shared_network=shared)
    fresh.load(trained.save(), load_cfg=None, strict=True)
    obs = TensorDict({"policy": torch.randn(8, 3)}, batch_size=[8])
    noise = torch.randn(8, 2)
    assert torch.equal(trained.actor(obs, noise), fresh.actor(obs, noise))
    assert not torch.equal(make_dipole(shared_network=shared).actor(obs, noise), trained.actor(obs, noise))


BAD_SETTINGS = [
    ({"schedule": "adaptive"}, "schedule=adaptive: must be fixed"),
    ({"beta": 0.0}, "beta=0.0: must be > 0"),
    ({"omega": -1.0}, "omega=-1.0: must be ≥ 0"),
    ({"explore_std": -0.1}, "explore_std=-0.1: must be ≥ 0"),
]


@pytest.mark.parametrize("fields, message", BAD_SETTINGS)
def test_bad_settings_are_usage_errors(fields, message):
    with pytest.raises(UsageError, match=re.escape(f"agent.algorithm.{message}")):
        validate(AgentCfg(algorithm=DipoleCfg(**fields)), "agent.")


def test_train_cli_names_the_bad_dipole_setting(tmp_path):
    result = run_script(
        "train.py", "--task", "MultiGoal", "--algo", "dipole", "--log_root", str(tmp_path), "agent.algorithm.omega=-0.5"
    )
    one_line_error(result, 2, "agent.algorithm.omega", "≥ 0")


@pytest.mark.slow
def test_dipole_learns_cartpole_balance(tmp_path):
    """`python train.py --algo dipole` on CartpoleBalance, then the deployed policy (ε = 0, the training ω)
    through play.py. About 6 minutes on 2 cores: `python -m pytest -m slow tests/test_dipole.py`."""
    common = ["--algo", "dipole", "--log_root", str(tmp_path)]
    result = run_script("train.py", *common, "--seed", "1")
    assert result.returncode == 0, result.stderr[-3000:]
    (run_dir,) = (tmp_path / "CartpoleBalance_dipole").iterdir()
    returns = scalars(run_dir, "Train/mean_reward")
    assert returns[0][1] < 500 and returns[-1][1] > 700, returns[-10:]  # training return, with exploration noise
    played = run_script("play.py", *common, "--headless", "--num_envs", "64")
    assert played.returncode == 0, played.stderr[-3000:]
    match = re.search(r"mean return over \d+ episodes: (-?[\d.]+)", played.stdout)
    assert match is not None, played.stdout[-3000:]
    assert float(match.group(1)) >= 900
