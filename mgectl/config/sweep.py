"""The ``sweep:`` section: which config keys a sweep searches, how, and the parameter grammar.

A parameter is ``KEY=DISTRIBUTION`` on the command line (``--param optimizer.lr=loguniform(1e-4,
1e-1)``) or ``KEY: DISTRIBUTION`` under ``sweep.params``. Distributions: ``loguniform(a,b)``,
``uniform(a,b)``, ``int(a,b)`` (both ends included) and ``choice(v1,v2,...)`` whose values are
YAML (``choice([32],[64,64])``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import yaml
from pydantic import BaseModel, Field, field_validator

from mgectl.config.messages import did_you_mean, models_in, show_value
from mgectl.config.overrides import KEY_PATTERN
from mgectl.config.sections import Section, raise_if
from mgectl.errors import ConfigError

KINDS = ("loguniform", "uniform", "int", "choice")
GRAMMAR = "loguniform(a,b), uniform(a,b), int(a,b) or choice(v1,v2,...)"
GRID_LIMIT = 10_000  # more grid points than this is a typo, not a sweep
CALL = re.compile(r"^\s*([a-z]+)\s*\((.*)\)\s*$", re.DOTALL)
NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


@dataclass(frozen=True)
class ParamSpec:
    """One searched config key and its distribution."""

    key: str  # dotted config key, e.g. optimizer.lr
    kind: str  # loguniform, uniform, int or choice
    low: float = 0.0
    high: float = 0.0
    choices: tuple[Any, ...] = ()

    def text(self) -> str:
        """The distribution as written in the grammar."""
        if self.kind == "choice":
            return f"choice({', '.join(yaml_flow(c) for c in self.choices)})"
        low, high = (int(self.low), int(self.high)) if self.kind == "int" else (self.low, self.high)
        return f"{self.kind}({low:g}, {high:g})"

    def extremes(self) -> list[Any]:
        """The values that must each make a valid config: both ends, or every choice."""
        if self.kind == "choice":
            return list(self.choices)
        if self.kind == "int":
            return [int(self.low), int(self.high)]
        return [self.low, self.high]

    def grid(self) -> list[Any]:
        """Every value a grid search visits; only choice and int have a finite grid."""
        if self.kind == "choice":
            return list(self.choices)
        if self.kind == "int":
            return list(range(int(self.low), int(self.high) + 1))
        raise ValueError(
            f"{self.key}: a grid needs choice(...) or int(a,b), not {self.kind}; "
            f"e.g. {self.key}=choice({self.low:g}, {self.high:g})"
        )


def yaml_flow(value: Any) -> str:
    """A value as one line of YAML (flow style), e.g. [64, 64] or 0.001."""
    text = yaml.safe_dump(value, default_flow_style=True, width=10_000)
    return text.removesuffix("...\n").strip()


def _number(text: str, kind: str) -> float:
    """A bound of uniform/loguniform/int; YAML would read 1e-4 as a string, so parse it here."""
    text = text.strip()
    if not NUMBER.match(text):
        raise ValueError(f"{kind}(...) bounds must be numbers (got {text!r})")
    value = float(text)
    if kind == "int" and not value.is_integer():
        raise ValueError(f"int(...) bounds must be integers (got {text})")
    return value


def _choice_value(value: Any) -> Any:
    """YAML 1.1 reads 1e-4 as a string; a choice that looks like a number is one."""
    if isinstance(value, str) and NUMBER.match(value):
        return float(value)
    return value


def parse_distribution(key: str, text: str) -> ParamSpec:
    """Parse DISTRIBUTION for KEY; ValueError with the reason when it is not the grammar."""
    match = CALL.match(str(text))
    if match is None or match.group(1) not in KINDS:
        raise ValueError(f"{text!r} is not a distribution; write {GRAMMAR}")
    kind, inner = match.groups()
    if kind == "choice":
        try:
            values = yaml.safe_load(f"[{inner}]")
        except yaml.YAMLError as error:
            problem = getattr(error, "problem", None) or str(error)
            raise ValueError(f"choice values must be YAML: {problem}") from None
        if not values:
            raise ValueError("choice(...) needs at least one value")
        return ParamSpec(key, kind, choices=tuple(_choice_value(v) for v in values))
    bounds = inner.split(",")
    if len(bounds) != 2:
        raise ValueError(f"{kind}(a,b) takes two bounds (got {len(bounds)})")
    low, high = (_number(bound, kind) for bound in bounds)
    if not low < high:
        raise ValueError(f"{kind}(a,b) needs a < b (got {low:g}, {high:g})")
    if kind == "loguniform" and low <= 0:
        raise ValueError(f"loguniform(a,b) needs a > 0 (got {low:g})")
    if not (math.isfinite(low) and math.isfinite(high)):
        raise ValueError(f"{kind}(a,b) bounds must be finite")
    return ParamSpec(key, kind, low, high)


def parse_param(text: str) -> tuple[str, str]:
    """Split a command line ``KEY=DISTRIBUTION`` into its two halves (ValueError if malformed)."""
    key, sep, distribution = text.partition("=")
    key = key.strip()
    if not sep or not KEY_PATTERN.match(key):
        raise ValueError(f"--param {text!r}: write KEY=DISTRIBUTION, e.g. optimizer.lr={GRAMMAR}")
    return key, distribution.strip()


class SweepConfig(Section):
    """A hyper-parameter search over this experiment (``mgectl sweep``); train ignores it."""

    params: dict[str, str] = Field(
        default_factory=dict, description=f"dotted config key -> {GRAMMAR}"
    )
    trials: int | None = Field(None, ge=1, description="trials to run; null: 20 (grid: all)")
    sampler: Literal["tpe", "random", "grid"] = "tpe"
    metric: str | None = Field(None, description="record key to optimise; null: the monitor")
    direction: Literal["minimize", "maximize"] | None = Field(
        None, description="null: maximize accuracy and r2, minimize the rest"
    )
    prune: bool = Field(True, description="stop hopeless trials early (median pruner)")
    seed: int | None = Field(None, description="sampler seed; null: the experiment seed")
    jobs: int = Field(1, ge=1, description="local worker processes")
    storage: str | None = Field(
        None, description="Optuna RDB URL or journal file; null: a journal in the sweep dir"
    )
    study: str | None = Field(None, description="study name; null: the experiment name")

    @field_validator("params")
    @classmethod
    def _grammar(cls, params: dict[str, str]) -> dict[str, str]:
        problems = []
        for key, text in params.items():
            if not KEY_PATTERN.match(key):
                problems.append((key, "not a dotted config key like optimizer.lr"))
                continue
            try:
                parse_distribution(key, text)
            except ValueError as error:
                problems.append((key, str(error)))
        raise_if(problems)
        return params

    def specs(self) -> list[ParamSpec]:
        """The parsed parameters, in the order written."""
        return [parse_distribution(key, text) for key, text in self.params.items()]


def set_key(raw: dict[str, Any], key: str, value: Any) -> None:
    """Set dotted KEY in the nested mapping RAW, making mappings on the way."""
    *parents, last = key.split(".")
    node = raw
    for part in parents:
        child = node.get(part)
        if not isinstance(child, dict):
            child = node[part] = {}
        node = child
    node[last] = value


def key_problem(cfg: BaseModel, key: str) -> str | None:
    """Why dotted KEY is not a key of the config schema (as CFG's sections are chosen), or None."""
    parts = key.split(".")
    node: Any = cfg
    for depth, part in enumerate(parts):
        where = ".".join(parts[:depth])
        if isinstance(node, dict):
            return None  # a free-form mapping such as data.params
        if not isinstance(node, BaseModel):
            return f"{where} is {show_value(node)}, a value with no key {part!r}"
        fields = type(node).model_fields
        if part not in fields:
            hint = did_you_mean(part, list(fields)) or f"; {where or 'the config'} has " + (
                ", ".join(fields)
            )
            return f"{part!r} is not a key of {where or 'the config'}{hint}"
        value = getattr(node, part)
        if value is None and depth + 1 < len(parts):
            # a section left out (scheduler: null): the key must exist in one of its kinds
            following = parts[depth + 1]
            kinds = models_in(fields[part].annotation).values()
            if not any(following in model.model_fields for model in kinds):
                return f"{following!r} is not a key of {'.'.join(parts[: depth + 1])}"
            return None
        node = value
    return None


def sweep_problems(
    cfg: BaseModel, sweep: SweepConfig, validate: Callable[[dict[str, Any]], Any]
) -> list[tuple[str, str]]:
    """Every parameter key must exist in CFG's schema and every extreme value must validate.

    VALIDATE checks a whole raw config (the experiment without its sweep section).
    """
    problems = []
    base = cfg.model_dump(mode="json", exclude={"sweep"})
    for spec in sweep.specs():
        where = f"sweep.params.{spec.key}"
        reason = key_problem(cfg, spec.key)
        if reason is not None:
            problems.append((where, reason))
            continue
        if sweep.sampler == "grid":
            try:
                points = len(spec.grid())
            except ValueError as error:
                problems.append((where, str(error).removeprefix(f"{spec.key}: ")))
                continue
            if points > GRID_LIMIT:
                problems.append((where, f"{points} grid points; at most {GRID_LIMIT}"))
        for value in spec.extremes():
            raw = _deep_copy(base)
            set_key(raw, spec.key, value)
            try:
                validate(raw)
            except ConfigError as error:
                first = error.problems[0].split(": ", 1)[-1]
                problems.append((where, f"{yaml_flow(value)} gives an invalid config: {first}"))
                break
    if sweep.metric is not None and sweep.metric.startswith("val_"):
        if getattr(getattr(cfg, "data", None), "val_split", 0) == 0:
            problems.append(("sweep.metric", f"{sweep.metric} needs data.val_split > 0"))
    return problems


def _deep_copy(value: Any) -> Any:
    """A copy of plain JSON-like data."""
    if isinstance(value, dict):
        return {k: _deep_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_deep_copy(v) for v in value]
    return value
