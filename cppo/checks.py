"""Configs that validate themselves: every field against its type and its allowed range, in one pass.

A config dataclass states its ranges in a class-level `limits` table (field → rule) and, where fields
depend on each other, an `invariants()` method. `validate(cfg, "agent.")` checks a whole nested config and
raises one UsageError naming the field, the value and what is allowed — before any env starts or any run
folder exists. Rules read as they print: "> 0", ">= 1", "[0, 1]", "(0, 1)", "[0, 1)".

Types come from the annotations: `Literal[...]` fields must be one of their options, floats must be finite,
ints must be whole, tuples (layer sizes) must be non-empty with every item within the field's rule.
"""

from __future__ import annotations

import dataclasses
import math
import operator
import typing
from collections.abc import Iterator
from typing import Any, Literal

from cppo.errors import UsageError

COMPARE = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le}


def within(value: float, rule: str) -> bool:
    """True when `value` satisfies a rule such as "> 0", ">= 1", "[0, 1]" or "(0, 1]"."""
    rule = rule.strip()
    if rule[0] in "[(":
        low, high = (float(x) for x in rule[1:-1].split(","))
        above = value >= low if rule[0] == "[" else value > low
        below = value <= high if rule[-1] == "]" else value < high
        return above and below
    symbol, bound = rule.split()
    return COMPARE[symbol](value, float(bound))


def describe(rule: str) -> str:
    rule = rule.replace(">=", "≥").replace("<=", "≤")
    return f"in {rule}" if rule[0] in "[(" else rule


def problem(key: str, value: Any, allowed: str) -> UsageError:
    shown = ",".join(map(str, value)) if isinstance(value, tuple) else value
    return UsageError(f"bad value {key}={shown}: must be {allowed}")


def check_field(key: str, value: Any, kind: Any, rule: str | None) -> None:
    origin = typing.get_origin(kind)
    if origin is Literal:
        options = typing.get_args(kind)
        if value not in options:
            raise problem(key, value, "one of " + ", ".join(map(str, options)))
        return
    if kind is bool:
        if not isinstance(value, bool):
            raise problem(key, value, "true or false")
        return
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise problem(key, value, "a whole number")
    elif kind is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise problem(key, value, "a finite number" + (f" {describe(rule)}" if rule else ""))
    elif origin is tuple:
        item = typing.get_args(kind)[0]
        good = isinstance(value, tuple) and len(value) > 0
        good = good and all(
            isinstance(x, item) and not isinstance(x, bool) and (rule is None or within(x, rule)) for x in value
        )
        if not good:
            noun = "integers" if item is int else "numbers"
            raise problem(
                key, value, f"a non-empty comma-separated list of {noun}" + (f" {describe(rule)}" if rule else "")
            )
        return
    if rule is not None and isinstance(value, (int, float)) and not within(value, rule):
        raise problem(key, value, describe(rule))


def validate(cfg: Any, prefix: str = "") -> None:
    """Check every field of a (nested) config dataclass; raise one UsageError for the first bad one."""
    hints = typing.get_type_hints(type(cfg))
    limits: dict[str, str] = getattr(cfg, "limits", {})
    for f in dataclasses.fields(cfg):
        value = getattr(cfg, f.name)
        if dataclasses.is_dataclass(value):
            validate(value, f"{prefix}{f.name}.")
        else:
            check_field(f"{prefix}{f.name}", value, hints[f.name], limits.get(f.name))
    invariants: Iterator[str] = cfg.invariants(prefix) if hasattr(cfg, "invariants") else iter(())
    for message in invariants:
        raise UsageError(message)
