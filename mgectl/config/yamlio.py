"""Read a YAML config file into a dict, turning every way it can fail into one clear line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from mgectl.errors import ConfigError

SECTIONS_HINT = "a mapping of sections such as data:, model:, optimizer:, train:"


# Bounds that keep any file cheap to accept or refuse: aliases may repeat a value, but an
# "alias bomb" (each alias doubling the last) would expand to billions of values.
MAX_VALUES = 100_000  # values after expanding aliases
MAX_DEPTH = 64  # nesting of mappings and lists
MAX_INT_DIGITS = 40


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that rejects duplicate keys instead of silently keeping the last one."""


def _error(problem: str, mark: Any) -> yaml.constructor.ConstructorError:
    return yaml.constructor.ConstructorError(None, None, problem, mark)


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: set[Any] = set()
    for key_node, _ in node.value:  # the keys written here; merged (<<:) ones may be overridden
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue
        key = loader.construct_object(key_node, deep=deep)
        if not isinstance(key, str | int | float | bool) and key is not None:
            kind = type(key).__name__
            raise _error(f"a mapping key must be a plain name, not a {kind}", key_node.start_mark)
        if key in seen:
            raise _error(f"duplicate key {key!r}", key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)  # flattens <<: merges, later keys win


def _construct_int(loader: _StrictLoader, node: yaml.ScalarNode) -> int:
    digits = sum(ch.isalnum() for ch in str(node.value))
    if digits > MAX_INT_DIGITS:
        raise _error(f"an integer of {digits} digits is far too large", node.start_mark)
    return loader.construct_yaml_int(node)


_StrictLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _construct_mapping,  # type: ignore[arg-type]
)
_StrictLoader.add_constructor("tag:yaml.org,2002:int", _construct_int)  # type: ignore[arg-type]


def _check_size(root: yaml.Node) -> None:
    """Refuse a document that expands to more than MAX_VALUES values or nests too deeply.

    Counted on the composed node graph, where an alias is a shared node: each node's expanded
    size is computed once, so even a bomb is measured in time linear in its text.
    """
    sizes: dict[int, int] = {}
    stack: list[tuple[yaml.Node, int, bool]] = [(root, 1, False)]
    while stack:
        node, depth, done = stack.pop()
        if id(node) in sizes:
            continue
        if depth > MAX_DEPTH:
            raise _error(f"values nest more than {MAX_DEPTH} levels deep", node.start_mark)
        children = _children(node)
        if done or not children:
            size = 1 + sum(sizes[id(child)] for child in children)
            if size > MAX_VALUES:
                raise _error(
                    f"aliases expand this to more than {MAX_VALUES} values", node.start_mark
                )
            sizes[id(node)] = size
            continue
        stack.append((node, depth, True))
        stack.extend((child, depth + 1, False) for child in children if id(child) not in sizes)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def load_bounded(text: str) -> Any:
    """yaml.safe_load with strict keys and bounded size and depth; raises yaml.YAMLError."""
    loader = _StrictLoader(text)
    try:
        try:
            node = loader.get_single_node()
        except RecursionError:
            raise _error(f"values nest more than {MAX_DEPTH} levels deep", None) from None
        if node is None:
            return None
        _check_size(node)
        return loader.construct_document(node)
    finally:
        loader.dispose()


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
        return load_bounded(text)
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
