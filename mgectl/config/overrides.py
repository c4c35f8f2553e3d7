"""Apply ``--set a.b=value`` overrides to a raw config dict before it is validated."""

from __future__ import annotations

import copy
import re
from typing import Any

import yaml

from mgectl.config.yamlio import load_bounded
from mgectl.errors import UserError

KEY_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
SET_HINT = "write --set KEY=VALUE with a dotted key, e.g. --set optimizer.lr=0.1"


def parse_override(text: str) -> tuple[list[str], Any]:
    """Split ``a.b=value`` into (["a", "b"], value), the value parsed as YAML."""
    key, sep, raw_value = text.partition("=")
    key = key.strip()
    if not sep:
        raise UserError(f"--set {text!r}: missing '='", hint=SET_HINT)
    if not KEY_PATTERN.match(key):
        raise UserError(f"--set {text!r}: {key!r} is not a dotted key like optimizer.lr", SET_HINT)
    try:
        value = load_bounded(raw_value)
    except yaml.YAMLError as error:
        problem = getattr(error, "problem", None) or str(error)
        raise UserError(
            f"--set {text!r}: value is not valid YAML: {problem}",
            hint="quote the whole option for the shell, e.g. --set 'model.hidden=[64, 64]'",
        ) from None
    return key.split("."), value


def override_sources(overrides: list[str] | tuple[str, ...]) -> dict[tuple[str, ...], str]:
    """Dotted key path -> "--set KEY=VALUE" as typed, so errors blame the flag, not the file."""
    found = {}
    for text in overrides:
        key = text.partition("=")[0].strip()
        if KEY_PATTERN.match(key):
            found[tuple(key.split("."))] = f"--set {text}"
    return found


def apply_overrides(raw: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Return a copy of RAW with each ``KEY=VALUE`` override applied in order."""
    result = copy.deepcopy(raw)
    for text in overrides:
        keys, value = parse_override(text)
        node: Any = result
        for depth, key in enumerate(keys[:-1]):
            child = node.get(key)
            if child is None:
                child = node[key] = {}
            elif not isinstance(child, dict):
                where = ".".join(keys[: depth + 1])
                raise UserError(
                    f"--set {text!r}: {where} is {child!r}, not a mapping, so it has no key "
                    f"{keys[depth + 1]!r}",
                    hint=f"to replace it whole, write --set {where}=VALUE",
                )
            node = child
        node[keys[-1]] = value
    return result
