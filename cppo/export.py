"""Export a trained actor for deployment: `<run>/exported/policy.onnx` (onnxruntime, on the robot) and
`policy.pt` (TorchScript), both with the run's metadata inside.

- CPPO: inputs "obs" [batch, obs_dim] and "noise" [batch, action_dim] (the initial ε of the flow; zeros
  for the deterministic policy) → "actions". The graph is the whole deployed policy: observation
  normalization → the K-step flow sampler unrolled → the kernel mean → clip to the action box.
- DIPOLE: inputs "obs", "noise" and "omega" (a scalar: the greediness ω, tunable on the robot without
  retraining; the metadata holds the training value) → "actions". Normalization → the guided K-step
  sampler v = (1 + ω)·v⁺ − ω·v⁻ unrolled → clip.
- Gaussian PPO: input "obs" → "actions" (normalization → MLP → mean), as rsl_rl exports it.

Metadata (ONNX `metadata_props`, TorchScript extra file "metadata.json"): task, algorithm, sizes, flow
steps, action scaling — what robot-side code needs to feed the network and scale its output.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, cast

import torch
import torch.nn as nn

from cppo.algorithms import get_algorithm
from cppo.files import atomic_path


class OnnxModule(Protocol):
    """What the module of an actor's `as_onnx()` offers beside nn.Module (rsl_rl's _OnnxMLPModel, cppo's
    Deployed*Policy)."""

    @property
    def input_names(self) -> list[str]: ...

    @property
    def output_names(self) -> list[str]: ...

    def get_dummy_inputs(self) -> tuple[torch.Tensor, ...]: ...


def deployable(actor: nn.Module, residual: bool = True) -> nn.Module:
    """The inference module of an actor: obs (, noise (, omega)) → actions, on the CPU, in eval mode.
    `residual=False`: CPPO's distilled flow without the kernel (cppo.algorithms: flow_only_deployment)."""
    as_onnx = cast(Callable[..., nn.Module], actor.as_onnx)  # rsl_rl's models and cppo's actors all have one
    module = as_onnx(verbose=False) if residual else as_onnx(verbose=False, residual=False)
    return module.to("cpu").eval()


def export_metadata(actor: nn.Module, algorithm: str, residual: bool = True, **extra) -> dict[str, str]:
    """The policy's own facts (algorithm, observation size, sampler, live inputs' defaults) plus the caller's
    (task, env timing, checkpoint). export_policy adds action_dim."""
    spec = get_algorithm(algorithm)
    facts: dict[str, Any] = {"algorithm": algorithm, "deployed": spec.deployed if residual else "flow"}
    if spec.flow:
        facts.update(flow_steps=actor.flow_steps, integrator=actor.integrator)
    facts.update({name: getattr(actor, name) for name in spec.live_inputs})  # e.g. DIPOLE's training ω
    facts.update(obs_dim=actor.obs_dim, **extra)
    return {key: value if isinstance(value, str) else json.dumps(value) for key, value in facts.items()}


INPUT_MEANINGS = {
    "obs": "[batch, obs_dim] float32: the observation groups in `obs_groups` order, unnormalized (the graph "
    "normalizes)",
    "noise": "[batch, action_dim] float32: the flow's initial sample ε; zeros = the deterministic policy play.py "
    "runs, N(0, I) = a stochastic one",
    "omega": "scalar float32: DIPOLE's greediness ω (0: π⁺ alone; the metadata's omega is the training value)",
}


def policy_inputs(actor: nn.Module, residual: bool = True) -> dict[str, str]:
    """What each input of the exported graph means, for deploy.yaml."""
    names = cast(OnnxModule, deployable(actor, residual)).input_names
    return {name: INPUT_MEANINGS[name] for name in names}


def export_policy(
    actor: nn.Module, directory: str | Path, metadata: dict[str, str], residual: bool = True
) -> list[Path]:
    """Write policy.onnx and policy.pt into `directory` (each atomically: a reader never sees half a file)."""
    module = deployable(actor, residual)
    onnx_module = cast(OnnxModule, module)
    inputs = onnx_module.get_dummy_inputs()
    input_names, output_names = list(onnx_module.input_names), list(onnx_module.output_names)
    batched = [
        name for name, x in zip(input_names, inputs, strict=True) if x.dim() > 0
    ] + output_names  # not DIPOLE's scalar ω
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    onnx_path, jit_path = directory / "policy.onnx", directory / "policy.pt"

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer chatter about Python floats in the sampler loop
        with torch.no_grad():
            outputs = module(*inputs)
        metadata = {**metadata, "action_dim": str(outputs.shape[-1])}
        with atomic_path(onnx_path) as tmp:
            torch.onnx.export(
                module,
                inputs,
                tmp,
                input_names=input_names,
                output_names=output_names,
                opset_version=18,
                dynamo=False,
                dynamic_axes={name: {0: "batch"} for name in batched},
            )
            add_onnx_metadata(tmp, metadata)
        with atomic_path(jit_path) as tmp:
            traced = cast(torch.jit.ScriptModule, torch.jit.trace(module, inputs))  # a module traces to a module
            traced.save(tmp, _extra_files={"metadata.json": json.dumps(metadata)})
    return [onnx_path, jit_path]


def add_onnx_metadata(path: str, metadata: dict[str, str]) -> None:
    import onnx

    model = onnx.load(path)
    for key, value in metadata.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(model, path)
