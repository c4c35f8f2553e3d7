"""Read a YAML config file into a dict, turning every way it can fail into one clear line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from mgectl.errors import ConfigError

SECTIONS_HINT = "a mapping of sections such as data:, model:, optimizer:, train:"


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that rejects duplicate keys instead of silently keeping the last one."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    loader.flatten_mapping(node)
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _construct_mapping,  # type: ignore[arg-type]
)


def yaml_error_line(source: str, error: yaml.YAMLError) -> str:
    """Format a YAML error as ``SOURCE:LINE:COL: problem`` (1-based, like compilers)."""
    mark = getattr(error, "problem_mark", None)
    problem = getattr(error, "problem", None) or str(error)
    if mark is None:
        return f"{source}: invalid YAML: {problem}"
    context = getattr(error, "context", None)
    suffix = f" ({context})" if context else ""
    return f"{source}:{mark.line + 1}:{mark.column + 1}: {problem}{suffix}"


def parse_yaml(text: str, source: str) -> Any:
    """Parse YAML text strictly; raise ConfigError naming SOURCE, line and column."""
    try:
        return yaml.load(text, Loader=_StrictLoader)  # a SafeLoader subclass
    except yaml.YAMLError as error:
        raise ConfigError([yaml_error_line(source, error)]) from None


def read_config_mapping(path: Path) -> dict[str, Any]:
    """Read PATH and return its top-level mapping, or raise ConfigError with one line."""
    source = str(path)
    if not path.exists():
        raise ConfigError([f"{source}: no such file"], hint="check the path, or list configs/")
    if path.is_dir():
        raise ConfigError([f"{source}: is a directory, expected a YAML file"])
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError([f"{source}: cannot read: {error}"]) from None
    data = parse_yaml(text, source)
    if data is None:
        raise ConfigError([f"{source}: file is empty; expected {SECTIONS_HINT}"])
    if not isinstance(data, dict):
        kind = type(data).__name__
        kind = {
            "list": "a list",
            "str": "a string",
            "int": "a number",
            "float": "a number",
        }.get(kind, kind)
        raise ConfigError([f"{source}: top level must be {SECTIONS_HINT}; got {kind}"])
    bad_keys = [key for key in data if not isinstance(key, str)]
    if bad_keys:
        raise ConfigError([f"{source}: top-level keys must be strings (got {bad_keys[0]!r})"])
    return data
