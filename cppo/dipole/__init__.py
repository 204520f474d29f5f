"""DIPOLE: two flows (π⁺, π⁻) fitted with advantage weights, sampled with a greediness ω (docs/dipole.md; the
spec, equations → code: docs/specs/dipole.md).

- `config.py`: its settings (`agent.algorithm` of `--algo dipole`), each documented.
- `actor.py`: the flow pair and the guided sampler v = (1 + ω)·v⁺ − ω·v⁻, and its deployed form.
- `update.py`: the weighted flow-matching update. Offline DIPOLE (IQL critic): cppo/offline.py.

rsl_rl configs name `cppo.dipole:DIPOLE` (algorithm) and `cppo.dipole:DipolePolicy` (actor).
"""

from typing import TYPE_CHECKING

from cppo.exports import lazy_exports

if TYPE_CHECKING:
    from cppo.dipole.actor import DipolePolicy
    from cppo.dipole.update import DIPOLE

__all__ = ["DIPOLE", "DipolePolicy"]
__getattr__ = lazy_exports(__name__, {"DIPOLE": "update", "DipolePolicy": "actor"})
