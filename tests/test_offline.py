"""Learning from recorded data: play.py --record → train.py --pretrain (behaviour cloning) and
train.py --algo dipole --dataset (offline DIPOLE with an IQL critic), then online (cppo/dataset.py, cppo/offline.py)."""

import re

import pytest
import torch
from tensordict import TensorDict

from cppo.config import AgentCfg, OfflineCfg, PolicyCfg
from cppo.cppo.config import CPPOCfg
from cppo.dataset import Transitions
from cppo.dipole.config import DipoleCfg
from cppo.offline import expectile_loss, pretrain, train_offline
from helpers import make_algorithm, one_line_error, run_in_process, run_script, scalars

SMALL = PolicyCfg(actor_hidden_dims=(64, 64), critic_hidden_dims=(64, 64))


def one_step_dataset(actions: torch.Tensor, rewards: torch.Tensor, obs_dim: int = 3) -> Transitions:
    """Episodes of one step (every step terminal): Q(s, a) is the reward, so the better actions are known."""
    n = actions.shape[0]
    return Transitions(
        {"policy": torch.randn(n, obs_dim)},
        actions,
        rewards,
        torch.ones(n),
        torch.zeros(n),
        {"policy": torch.randn(n, obs_dim)},
    )


def samples(alg, n: int = 4096, **omega) -> torch.Tensor:
    s = alg.actor.observation(TensorDict({"policy": torch.randn(n, 3)}, batch_size=[n]))
    noise = torch.randn(n, alg.actor.num_actions)
    with torch.no_grad():
        return alg.actor.sample(s, noise, **omega) if omega else alg.actor.sample_flow(s, noise)


def test_expectile_loss_fits_the_upper_expectile():
    torch.manual_seed(0)
    x = torch.randn(20000)
    fitted = {}
    for expectile in (0.5, 0.9):
        v = torch.zeros((), requires_grad=True)
        optimizer = torch.optim.Adam([v], lr=0.05)
        for _ in range(400):
            optimizer.zero_grad()
            expectile_loss(x - v, expectile).backward()
            optimizer.step()
        fitted[expectile] = v.item()
        # the expectile's defining balance: τ·E[(x − v)+] = (1 − τ)·E[(v − x)+]
        above, below = (x - v).clamp(min=0).mean().item(), (v - x).clamp(min=0).mean().item()
        assert expectile * above == pytest.approx((1 - expectile) * below, rel=0.02)
    assert fitted[0.5] == pytest.approx(x.mean().item(), abs=0.01) and fitted[0.9] > fitted[0.5] + 0.6


@pytest.mark.parametrize("algo", ["cppo", "dipole"])
def test_behaviour_cloning_keeps_both_modes_of_the_data(algo):
    torch.manual_seed(0)
    n = 4096
    modes = torch.where(torch.rand(n, 1) < 0.5, -0.5, 0.5)
    data = one_step_dataset(modes + 0.05 * torch.randn(n, 1), torch.zeros(n))
    agent = AgentCfg(algorithm=CPPOCfg() if algo == "cppo" else DipoleCfg(), policy=SMALL)
    alg = make_algorithm(agent, 3, 1)
    pretrain(alg, data, steps=600, batch_size=512)
    for actions in (
        samples(alg) if algo == "cppo" else samples(alg, omega=0.0),
        samples(alg, omega=2.0) if algo == "dipole" else None,
    ):
        if actions is None:
            continue
        near = ((actions - 0.5).abs() < 0.2).float().mean().item(), ((actions + 0.5).abs() < 0.2).float().mean().item()
        assert min(near) > 0.25 and abs(near[0] - near[1]) < 0.1, near  # both modes, equally: π⁺ = π⁻ after cloning
    if algo == "cppo":  # the rollout samples φ_ref: it must be the cloned flow
        s = alg.actor.observation(TensorDict({"policy": torch.randn(64, 3)}, batch_size=[64]))
        noise = torch.randn(64, 1)
        assert torch.equal(alg.actor.sample_reference(s, noise), alg.actor.sample_flow(s, noise))


def test_offline_dipole_moves_toward_the_better_actions_of_the_data():
    """Uniform behaviour on [-1, 1], reward −4(a − 0.5)²: the IQL advantage must tell π⁺ from π⁻."""
    torch.manual_seed(0)
    n = 8192
    actions = torch.rand(n, 1) * 2 - 1
    data = one_step_dataset(actions, -4 * (actions[:, 0] - 0.5).pow(2))
    alg = make_algorithm(AgentCfg(algorithm=DipoleCfg(learning_rate=1e-3), policy=SMALL), 3, 1)
    cfg = OfflineCfg(steps=1200, batch_size=512, q_hidden_dims=(64, 64))
    losses = train_offline(alg, data, cfg, cfg.q_hidden_dims, "elu")
    assert all(torch.isfinite(torch.tensor(v)) for v in losses.values()) and 0 < losses["weight_mean"] < 1
    behaviour = (actions - 0.5).abs().mean().item()  # 0.625
    positive, guided = ((samples(alg, omega=w) - 0.5).abs().mean().item() for w in (0.0, 1.0))
    assert positive < 0.75 * behaviour and guided < positive, (behaviour, positive, guided)


def test_record_train_offline_then_online(tmp_path):
    logs, data = str(tmp_path / "logs"), tmp_path / "multigoal.pt"
    common = ["--task", "MultiGoal", "--log_root", logs]
    assert run_script("train.py", *common, "--algo", "ppo", "--max_iterations", "1").returncode == 0
    result = run_script(
        "play.py",
        *common,
        "--algo",
        "ppo",
        "--headless",
        "--stochastic",
        "--num_envs",
        "8",
        "--steps",
        "60",
        "--record",
        str(data),
    )
    assert result.returncode == 0 and "recorded 480 transitions" in result.stdout, result.stderr[-2000:]

    dataset = torch.load(data, weights_only=True)
    obs, next_obs, dones = dataset["observations"]["policy"], dataset["next_observations"]["policy"], dataset["dones"]
    assert obs.shape == (480, 4) and dataset["actions"].shape == (480, 2) and dataset["rewards"].shape == (480,)
    running = dones[:-8] == 0  # steps are stored step-major: row i + 8 is env i % 8 one step later
    assert running.sum() > 400 and torch.equal(next_obs[:-8][running], obs[8:][running])
    assert dones.sum() == 8 and torch.equal(dones, dataset["time_outs"])  # 50-step episodes end in time-outs
    again = run_script("play.py", *common, "--algo", "ppo", "--headless", "--steps", "5", "--record", str(data))
    one_line_error(again, 2, "already exists")
    assert torch.equal(torch.load(data, weights_only=True)["actions"], dataset["actions"])  # untouched

    small = ["agent.offline.steps=30", "agent.offline.pretrain_steps=20", "agent.offline.batch_size=64"]
    result = run_script(
        "train.py", *common, "--algo", "dipole", "--dataset", str(data), "--max_iterations", "0", *small
    )
    assert result.returncode == 0, result.stderr[-2000:]
    (run_dir,) = (tmp_path / "logs" / "MultiGoal_dipole").iterdir()
    assert (run_dir / "model_offline.pt").is_file() and not list(run_dir.glob("model_[0-9]*.pt"))
    for tag in ("q", "value", "flow_positive", "flow_negative", "weight_mean", "weight_above_half"):
        assert len(scalars(run_dir, f"Offline/{tag}")) >= 1, tag
    play = run_script(
        "play.py", *common, "--algo", "dipole", "--headless", "--checkpoint", "model_offline.pt", "--steps", "10"
    )
    assert play.returncode == 0, play.stderr[-2000:]

    result = run_script("train.py", *common, "--algo", "cppo", "--pretrain", str(data), "--max_iterations", "2", *small)
    assert result.returncode == 0 and "cloned the flow policy from 480 transitions" in result.stdout, result.stderr[
        -2000:
    ]
    (run_dir,) = (tmp_path / "logs" / "MultiGoal_cppo").iterdir()
    assert (run_dir / "model_offline.pt").is_file() and (run_dir / "model_1.pt").is_file()  # then online as usual


def test_bad_offline_flags_are_one_line_errors(tmp_path, capsys):
    common = ["--task", "MultiGoal", "--log_root", str(tmp_path)]
    one_line_error(
        run_in_process(capsys, "train.py", *common, "--algo", "ppo", "--dataset", "x.pt"), 2, "--algo dipole"
    )
    one_line_error(
        run_in_process(capsys, "train.py", *common, "--algo", "ppo", "--pretrain", "x.pt"), 2, "cppo or dipole"
    )
    one_line_error(
        run_in_process(capsys, "train.py", *common, "--algo", "dipole", "--dataset", str(tmp_path / "none.pt")),
        2,
        "not found",
    )
    wrong = tmp_path / "wrong.pt"
    one_step_dataset(torch.zeros(10, 1), torch.zeros(10), obs_dim=5).save(wrong)  # 5-D observations, 1 action
    one_line_error(
        run_in_process(
            capsys, "train.py", *common, "--algo", "dipole", "--dataset", str(wrong), "--max_iterations", "0"
        ),
        2,
        "does not fit",
    )
    not_data = tmp_path / "model.pt"
    torch.save({"model_state_dict": {}}, not_data)
    one_line_error(
        run_in_process(
            capsys, "train.py", *common, "--algo", "cppo", "--pretrain", str(not_data), "--max_iterations", "1"
        ),
        2,
        "not a dataset recorded",
    )
    assert not list(tmp_path.glob("MultiGoal_*/*/model_offline.pt"))


def played_return(result) -> float:
    assert result.returncode == 0, result.stderr[-3000:]
    match = re.search(r"mean return over \d+ episodes: (-?[\d.]+)", result.stdout)
    assert match is not None, result.stdout[-3000:]
    return float(match.group(1))


@pytest.mark.slow
def test_offline_dipole_beats_the_policy_that_recorded_the_data(tmp_path):
    """Issue 7's acceptance on CartpoleBalance: a half-trained PPO records 256k steps; offline DIPOLE (the
    defaults) must beat it when played, and 60 online iterations must improve on it. About 9 minutes on
    2 cores: `python -m pytest -m slow tests/test_offline.py`."""
    logs, data = str(tmp_path / "logs"), tmp_path / "half.pt"
    common = ["--task", "CartpoleBalance", "--log_root", logs, "--headless", "--num_envs", "64"]
    assert (
        run_script("train.py", "--task", "CartpoleBalance", "--log_root", logs, "--max_iterations", "50").returncode
        == 0
    )
    behaviour = played_return(run_script("play.py", *common, "--algo", "ppo"))
    recorded = run_script("play.py", *common[:-1], "256", "--algo", "ppo", "--stochastic", "--record", str(data))
    assert recorded.returncode == 0 and "recorded 256000 transitions" in recorded.stdout, recorded.stderr[-3000:]

    trained = run_script(
        "train.py",
        "--task",
        "CartpoleBalance",
        "--log_root",
        logs,
        "--algo",
        "dipole",
        "--dataset",
        str(data),
        "--max_iterations",
        "60",
    )
    assert trained.returncode == 0, trained.stderr[-3000:]
    offline = played_return(run_script("play.py", *common, "--algo", "dipole", "--checkpoint", "model_offline.pt"))
    online = played_return(run_script("play.py", *common, "--algo", "dipole"))
    assert offline > behaviour + 50 and online > offline + 30, (behaviour, offline, online)
