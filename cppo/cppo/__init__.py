"""CPPO, conditional PPO (docs/algorithm.md; the spec, equations → code: docs/specs/cppo.md).

- `config.py`: its settings (`agent.algorithm` of `--algo cppo`), each documented.
- `actor.py`: the flow φ, its reference φ_ref and the Gaussian kernel θ (`kernel.py`).
- `update.py`: the rollout sample, the conditional PPO step on the kernel, the distillation into φ.
- `study.py`: switches measured worse than the defaults (bench/ablation.py runs them; no user sees them).

rsl_rl configs name `cppo.cppo:CPPO` (algorithm) and `cppo.cppo:FlowPolicy` (actor).
"""

from typing import TYPE_CHECKING

from cppo.exports import lazy_exports

if TYPE_CHECKING:
    from cppo.cppo.actor import FlowPolicy
    from cppo.cppo.update import CPPO

__all__ = ["CPPO", "FlowPolicy"]
__getattr__ = lazy_exports(__name__, {"CPPO": "update", "FlowPolicy": "actor"})
