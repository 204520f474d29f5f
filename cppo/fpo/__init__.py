"""FPO++: PPO with a likelihood ratio estimated from flow-matching losses (docs/fpo.md, with its equations → code
table).

- `config.py`: its settings (`agent.algorithm` of `--algo fpo`), each documented.
- `actor.py`: the flow policy and its rollout sampler (with exploration noise).
- `update.py`: the per-sample ratio and the asymmetric trust region (ASPO).

rsl_rl configs name `cppo.fpo:FPO` (algorithm) and `cppo.fpo:FPOPolicy` (actor).
"""

from typing import TYPE_CHECKING

from cppo.exports import lazy_exports

if TYPE_CHECKING:
    from cppo.fpo.actor import FPOPolicy
    from cppo.fpo.update import FPO

__all__ = ["FPO", "FPOPolicy"]
__getattr__ = lazy_exports(__name__, {"FPO": "update", "FPOPolicy": "actor"})
