"""Unit tests of CPPO's pieces: Gaussian closed forms, zero initialisation, the conditional-ratio identity,
save/load, and the flow sampler."""

import math
from typing import cast

import pytest
import torch
from tensordict import TensorDict

from cppo.checks import validate
from cppo.config import AgentCfg, PolicyCfg, PPOCfg
from cppo.cppo.config import CPPOCfg, CPPOStudyCfg
from cppo.cppo.kernel import GaussianKernel, gaussian_entropy, gaussian_kl, gaussian_log_prob
from cppo.cppo.study import CPPOStudy
from cppo.cppo.update import CPPO
from cppo.errors import UsageError
from cppo.flow import CudaGraphed, FlowVelocity, last_layer, sample_flow
from cppo.flow_actor import DeployedFlowPolicy
from cppo.ppo import fused
from helpers import make_algorithm


def make_cppo(
    obs_dim=3, num_actions=2, num_envs=8, steps=4, config=CPPOCfg, run_left: float | None = 1.0, **switches
) -> CPPO:
    agent = AgentCfg(
        algorithm=config(**switches), policy=PolicyCfg(actor_hidden_dims=(32, 32), critic_hidden_dims=(32,))
    )
    agent.num_steps_per_env = steps
    return make_algorithm(agent, obs_dim, num_actions, num_envs, run_left)


def test_gaussian_log_prob_entropy_kl_match_torch_distributions():
    torch.manual_seed(0)
    mean, std, x = torch.randn(5, 3), torch.rand(5, 3) + 0.1, torch.randn(5, 3)
    reference = torch.distributions.Normal(mean, std)
    assert torch.allclose(gaussian_log_prob(x, mean, std), reference.log_prob(x).sum(-1), atol=1e-6)
    assert torch.allclose(gaussian_entropy(std), reference.entropy().sum(-1), atol=1e-6)
    other = torch.distributions.Normal(mean + 0.3, std * 1.4)
    expected = torch.distributions.kl_divergence(reference, other).sum(-1)
    assert torch.allclose(gaussian_kl(mean, std, mean + 0.3, std * 1.4), expected, atol=1e-6)


def test_zero_initialised_flow_and_kernel_give_a0_equal_noise_and_mean_equal_a0():
    torch.manual_seed(0)
    flow = FlowVelocity(obs_dim=4, action_dim=3, hidden_dims=(16, 16))
    obs, noise = torch.randn(10, 4), torch.randn(10, 3)
    for integrator in ("euler", "midpoint"):
        assert torch.equal(sample_flow(flow, obs, noise, steps=8, integrator=integrator), noise)
    kernel = GaussianKernel(obs_dim=4, action_dim=3, hidden_dims=(16,), init_std=0.5)
    mean, std = kernel(obs, noise)
    assert torch.equal(mean, noise) and torch.allclose(std, torch.full_like(std, 0.5))


def test_conditional_ratio_identity_on_a_bimodal_reference():
    """E_{a0~π_ref, a~p_old}[r·A] = E_{a~π_θ}[A] for r = p_θ(a|a0)/p_old(a|a0) (cppo.md test plan, 1)."""
    torch.manual_seed(0)
    n = 400_000
    modes = torch.where(torch.rand(n, 1) < 0.5, -1.0, 1.0)
    a0 = modes + 0.2 * torch.randn(n, 1)  # bimodal reference samples

    def advantage(a):
        return torch.sin(2 * a) - 0.3 * a.pow(2)

    mean_old, std_old = a0 + 0.1 * torch.tanh(a0), torch.full_like(a0, 0.4)
    mean_new, std_new = a0 - 0.2 * a0.pow(3).clamp(-2, 2) + 0.15, torch.full_like(a0, 0.3)
    a = mean_old + std_old * torch.randn_like(a0)
    ratio = torch.exp(gaussian_log_prob(a, mean_new, std_new) - gaussian_log_prob(a, mean_old, std_old))
    conditional = (ratio * advantage(a).squeeze(-1)).mean()
    direct = advantage(mean_new + std_new * torch.randn_like(a0)).mean()
    assert abs(conditional - direct) < 0.01, (conditional, direct)
    assert abs(advantage(a).mean() - direct) > 0.05  # the two policies really differ


def test_save_load_round_trip_gives_identical_actions_for_identical_noise():
    torch.manual_seed(0)
    trained = make_cppo()
    with torch.no_grad():  # make every network non-trivial
        for p in trained.actor.parameters():
            p.add_(0.1 * torch.randn_like(p))
    state = trained.save()
    fresh = make_cppo()
    fresh.load(state, load_cfg=None, strict=True)
    obs = TensorDict({"policy": torch.randn(8, 3)}, batch_size=[8])
    noise = torch.randn(8, 2)
    assert torch.equal(trained.actor(obs, noise), fresh.actor(obs, noise))
    assert not torch.equal(make_cppo().actor(obs, noise), trained.actor(obs, noise))


def test_act_samples_through_the_reference_and_stores_the_conditioning():
    torch.manual_seed(0)
    alg = make_cppo(num_envs=16)
    obs = TensorDict({"policy": torch.randn(16, 3)}, batch_size=[16])
    actions = alg.act(obs)
    assert alg.transition.distribution_params is not None and alg.transition.actions_log_prob is not None
    mean, std, a0, noise = alg.transition.distribution_params
    assert actions.shape == (16, 2) and torch.equal(a0, noise.clamp(-1, 1))  # fresh flow: a0 = clip(ε)
    assert torch.equal(mean, a0)  # fresh kernel: μ = a0
    assert torch.allclose(alg.transition.actions_log_prob, gaussian_log_prob(actions, mean, std))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA graphs need a GPU (run this file on one)")
def test_cuda_graph_sampler_equals_eager_sampler_and_sees_parameter_updates():
    torch.manual_seed(0)
    velocity = FlowVelocity(6, 3, (64, 64)).cuda()
    output_layer = last_layer(cast(torch.nn.Sequential, velocity.body[-1]))
    torch.nn.init.normal_(output_layer.weight, std=0.3)  # a non-zero field, so the sample depends on φ

    def sample(s, noise, steps):
        return sample_flow(velocity, s, noise, steps, "midpoint")

    graphed = CudaGraphed(sample)
    with torch.inference_mode():
        for _ in range(3):  # new inputs each call: the graph must read them, not the ones it was captured with
            s, noise = torch.randn(512, 6, device="cuda"), torch.randn(512, 3, device="cuda")
            torch.testing.assert_close(graphed(s, noise, steps=8), sample(s, noise, 8))
    with torch.no_grad():
        output_layer.bias.add_(0.25)  # in place, like an optimizer step
    with torch.inference_mode():
        torch.testing.assert_close(graphed(s, noise, steps=8), sample(s, noise, 8))
        torch.testing.assert_close(graphed(s[:100], noise[:100], steps=4), sample(s[:100], noise[:100], 4))
    assert len(graphed.graphs) == 2  # one per (shape, steps)
    out = graphed(torch.randn(4, 6, device="cuda", requires_grad=True), torch.randn(4, 3, device="cuda"), steps=8)
    assert out.requires_grad  # with autograd on, the sampler runs eagerly


def test_a_zero_noise_share_acts_its_envs_from_the_deployed_flow_sample_with_the_kernels_noise():
    torch.manual_seed(0)
    alg = make_cppo(num_envs=16, config=CPPOStudyCfg, zero_noise_share=0.25)
    obs = TensorDict({"policy": torch.randn(16, 3)}, batch_size=[16])
    for _ in range(2):  # the same envs on every step
        actions = alg.act(obs)
        assert alg.transition.distribution_params is not None
        mean, std, a0, noise = alg.transition.distribution_params
        assert torch.equal(noise[:4], torch.zeros(4, 2)) and bool((noise[4:] != 0).all())
        deployed = alg.actor.sample_reference(alg.actor.observation(obs)[:4], torch.zeros(4, 2))
        assert torch.equal(a0[:4], deployed)
        assert bool((actions[:4] != mean[:4]).all())  # the kernel still samples around them


def test_a_tanh_squash_stores_the_kernels_sample_and_steps_and_deploys_its_tanh():
    torch.manual_seed(0)
    alg = make_cppo(num_envs=16, config=CPPOStudyCfg, squash="tanh", action_limit=3.0)
    obs = TensorDict({"policy": torch.randn(16, 3)}, batch_size=[16])
    actions = alg.act(obs)
    stored = alg.transition.actions
    assert stored is not None and bool((stored.abs() > 1).any())  # the policy's space is unbounded
    torch.testing.assert_close(actions, torch.tanh(stored))  # the env's action is its tanh
    deployed = DeployedFlowPolicy(alg.actor)
    obs, noise = torch.randn(5, 3), 3 * torch.randn(5, 2)
    s = alg.actor.obs_normalizer(obs)
    unsquashed = alg.actor.kernel(s, alg.actor.sample_flow(s, noise))[0].clamp(-3, 3)
    torch.testing.assert_close(deployed(obs, noise), torch.tanh(unsquashed))


def test_a_widening_box_keeps_the_flow_in_the_envs_box_until_its_share_of_the_run_then_in_the_wide_one():
    torch.manual_seed(0)
    alg = make_cppo(num_envs=64, config=CPPOStudyCfg, widen_box_at=0.5, action_limit=3.0)
    obs = TensorDict({"policy": torch.randn(64, 3)}, batch_size=[64])

    def largest_flow_sample() -> float:  # the flow's a0 spreads as its ε (N(0, I)) does: the box is what bounds it
        alg.act(obs)
        assert alg.transition.distribution_params is not None
        return float(alg.transition.distribution_params[2].abs().max())

    assert largest_flow_sample() == 1.0
    for run_left in (1.0, 0.6):  # updates before half the run is behind: still ±1
        alg.run_left = run_left
        fill_rollout(alg)
        alg.update()
        assert largest_flow_sample() <= 1.0
    alg.run_left = 0.5
    fill_rollout(alg)
    alg.update()
    assert 1.0 < largest_flow_sample() <= 3.0
    alg.run_left = 0.4  # the runner's next word does not narrow it again
    assert alg.actor.action_limit == 3.0
    # Outside a run (play.py, an export), the policy acts in the box its run ended in.
    played = make_cppo(config=CPPOStudyCfg, widen_box_at=0.5, action_limit=3.0, run_left=None)
    assert played.actor.action_limit == 3.0
    # Trained under rsl_rl's own runner (which never tells the run's length): one line, not a silent ±3 box all run.
    fill_rollout(played)
    with pytest.raises(UsageError, match="widen_box_at.*cppo.runner:Runner"):
        played.update()


def test_a_late_std_ceiling_leaves_the_first_half_alone_then_lowers_sigma_to_its_end_value():
    torch.manual_seed(0)
    alg = make_cppo(num_envs=64, config=CPPOStudyCfg, min_std=0.2, late_max_std=0.25)
    obs = TensorDict({"policy": torch.randn(64, 3)}, batch_size=[64])
    assert float(alg.actor.kernel.std.detach().max()) == pytest.approx(1.0)  # init_noise_std, under the ceiling of 2
    for run_left, ceiling in ((0.5, 2.0), (0.25, (2.0 * 0.25) ** 0.5), (0.0, 0.25)):  # log-linear over the 2nd half
        alg.run_left = run_left
        alg.act(obs)  # the rollout samples with the clamped σ, and stores it as the update's σ_old
        assert alg.transition.distribution_params is not None
        stored_std = alg.transition.distribution_params[1]
        torch.testing.assert_close(stored_std, torch.full_like(stored_std, min(1.0, ceiling)))
    fill_rollout(alg)
    alg.update()
    torch.testing.assert_close(alg.actor.kernel.std.detach(), torch.full((2,), 0.25))  # the update kept it capped
    # Outside a run (play.py's sampler), σ is capped as the run ended.
    played = make_cppo(config=CPPOStudyCfg, min_std=0.2, late_max_std=0.25, run_left=None)
    torch.testing.assert_close(played.actor.kernel.std, torch.full((2,), 0.25))
    fill_rollout(played)
    with pytest.raises(UsageError, match="late_max_std.*cppo.runner:Runner"):
        played.update()
    with pytest.raises(UsageError, match=r"late_max_std=0.1: must be 0 \(off\) or in \[min_std, max_std\)"):
        validate(AgentCfg(algorithm=CPPOStudyCfg(min_std=0.2, late_max_std=0.1)), "agent.")


def test_marginal_entropy_bonus_spreads_one_states_actions():
    torch.manual_seed(0)
    alg = make_cppo(num_envs=64, config=CPPOStudyCfg)
    assert isinstance(alg, CPPOStudy)
    s = torch.randn(64, 3)

    def spread() -> float:  # std of the kernel means over fresh a0 at one fixed state
        with torch.no_grad():
            state = s[:1].repeat(512, 1)
            a0 = alg.actor.sample_reference(state, torch.randn(512, 2))
            return alg.actor.kernel(state, a0)[0].std(0).mean().item()

    before = spread()
    optimizer = torch.optim.Adam(alg.actor.kernel.parameters(), lr=1e-2)
    for _ in range(30):
        optimizer.zero_grad()
        (-alg.marginal_entropy(s)).backward()
        optimizer.step()
    after = spread()
    assert after > 2 * before, (before, after)


def test_fused_optimizer_keeps_the_settings_and_the_update_rule():
    torch.manual_seed(0)
    weights = [torch.randn(16, 8, requires_grad=True), torch.randn(8, requires_grad=True)]
    copies = [w.detach().clone().requires_grad_() for w in weights]
    plain = torch.optim.AdamW(weights, lr=3e-3, betas=(0.8, 0.95), weight_decay=0.1)
    fast = fused(torch.optim.AdamW(copies, lr=3e-3, betas=(0.8, 0.95), weight_decay=0.1))
    assert fast.param_groups[0]["fused"] and fast.param_groups[0]["betas"] == (0.8, 0.95)
    for _ in range(5):
        for optimizer, params in ((plain, weights), (fast, copies)):
            optimizer.zero_grad()
            torch.stack([(p * torch.arange(p.numel()).view_as(p)).sin().sum() for p in params]).sum().backward()
            optimizer.step()
    for w, c in zip(weights, copies, strict=True):
        torch.testing.assert_close(c, w, atol=1e-6, rtol=1e-5)
    ppo, cppo = make_algorithm(AgentCfg()), make_cppo()
    optimizers = (ppo.optimizer, cppo.optimizer, cppo.flow_optimizer)
    assert all(group["fused"] for optimizer in optimizers for group in optimizer.param_groups)


def fill_rollout(alg: CPPO, obs_dim: int = 3) -> None:
    """One rollout of random observations and rewards through act/process_env_step, and its returns, as
    rsl_rl's runner collects it (under inference mode)."""
    num_envs = alg.storage.num_envs
    with torch.inference_mode():
        for _ in range(alg.storage.num_transitions_per_env):
            obs = TensorDict({"policy": torch.randn(num_envs, obs_dim)}, batch_size=[num_envs])
            alg.act(obs)
            alg.process_env_step(obs, torch.randn(num_envs), torch.zeros(num_envs), {})
        alg.compute_returns(obs)


def test_separate_critic_rate_steps_the_critic_at_its_own_annealed_rate():
    torch.manual_seed(0)
    alg = make_cppo(critic_learning_rate=3e-4, ceiling_decay="linear")
    kernel = {id(p) for p in alg.actor.kernel.parameters()}
    assert all(id(p) in kernel for group in alg.optimizer.param_groups for p in group["params"])
    critic_before = [p.detach().clone() for p in alg.critic.parameters()]
    alg.run_left = 0.5
    fill_rollout(alg)
    alg.update()
    assert alg.critic_optimizer is not None and alg.critic_optimizer.param_groups[0]["lr"] == pytest.approx(1.5e-4)
    assert alg.flow_optimizer.param_groups[0]["lr"] == pytest.approx(0.5e-3)
    assert alg.diagnostics["Loss/critic_learning_rate"] == pytest.approx(1.5e-4)
    assert any(not torch.equal(a, b) for a, b in zip(critic_before, alg.critic.parameters(), strict=True))


def test_the_logged_rollout_std_is_the_sigma_the_rollout_sampled_with_state_dependent_head_included():
    torch.manual_seed(0)
    alg = make_cppo(state_dependent_std=True)
    with torch.no_grad():  # the σ head's offset: log 2 in every state
        alg.actor.kernel.output_layer.bias[alg.actor.num_actions :] = math.log(2.0)
    fill_rollout(alg)
    logged = alg.exploration()["Policy/rollout_std"]
    assert logged == pytest.approx(2 * alg.actor.output_std.mean().item(), rel=1e-5)  # mean_std misses the head


def test_reset_moments_forgets_only_the_zeroed_output_rows():
    torch.manual_seed(0)
    alg = make_cppo(reset_moments=True)
    fill_rollout(alg)
    alg.update()
    last = alg.actor.kernel.output_layer
    assert torch.count_nonzero(last.weight) == 0
    for parameter in (last.weight, last.bias):
        assert all(torch.count_nonzero(m) == 0 for m in alg.optimizer.state[parameter].values() if m.dim() > 0)
    hidden = next(alg.actor.kernel.net.parameters())  # the first layer's weight
    assert torch.count_nonzero(alg.optimizer.state[hidden]["exp_avg"]) > 0  # the rest keep their moments


@pytest.mark.parametrize("config", [PPOCfg, CPPOCfg])
def test_an_annealed_entropy_bonus_weighs_as_its_share_of_the_run_left(config):
    """entropy_decay="linear" at a quarter of the run left steps exactly as a constant bonus a quarter as large."""

    def updated(run_left: float, **switches) -> list[torch.Tensor]:
        torch.manual_seed(0)
        agent = AgentCfg(
            algorithm=config(**switches), policy=PolicyCfg(actor_hidden_dims=(32,), critic_hidden_dims=(32,))
        )
        agent.num_steps_per_env = 4
        alg = make_algorithm(agent)
        alg.run_left = run_left
        fill_rollout(alg)
        alg.update()
        return [p.detach().clone() for p in alg.actor.parameters()]

    annealed = updated(0.25, entropy_coef=0.4, entropy_decay="linear")
    constant = updated(0.25, entropy_coef=0.1)
    other = updated(0.25, entropy_coef=0.4)
    assert all(torch.allclose(a, c) for a, c in zip(annealed, constant, strict=True))
    assert not all(torch.allclose(a, o) for a, o in zip(annealed, other, strict=True))
