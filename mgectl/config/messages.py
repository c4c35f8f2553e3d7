"""Turn a pydantic ValidationError into one line per problem: ``FILE: a.b.c: reason (got v)``."""

from __future__ import annotations

import difflib
import re
import reprlib
import types
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, Tag, ValidationError

CROSS_FIELD = "cross_field"
UNKNOWN_LAYER = "unknown_layer"  # its message names the value already
NO_VALUE_TYPES = {"missing", "extra_forbidden", CROSS_FIELD, "union_tag_not_found", UNKNOWN_LAYER}
SIMPLE_REASONS = {
    "int_type": "must be an integer",
    "int_parsing": "must be an integer",
    "int_from_float": "must be an integer",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "finite_number": "must be a finite number",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "string_type": "must be a string",
    "list_type": "must be a list",
    "tuple_type": "must be a list",
    "dict_type": "must be a mapping (key: value)",
    "model_type": "must be a mapping (key: value)",
    "model_attributes_type": "must be a mapping (key: value)",
    "missing": "required key is missing",
}
BOUNDS = {"gt": ">", "ge": ">=", "lt": "<", "le": "<="}


def format_validation_error(
    error: ValidationError,
    source: str,
    raw: dict[str, Any],
    root: type[BaseModel],
    overrides: dict[tuple[str, ...], str] | None = None,
) -> list[str]:
    """One line per problem in ERROR, naming SOURCE and the dotted key as written in RAW.

    OVERRIDES maps the key paths that --set options wrote to the option as typed: a problem
    at (or inside, or above) such a key names the option instead of SOURCE.
    """
    lines: list[str] = []
    for item in error.errors(include_url=False):
        where = _source_of(tuple(item["loc"]), raw, source, overrides or {})
        for line in _format_item(item, where, raw, root):
            if line not in lines:
                lines.append(line)
    return lines


def _format_item(
    item: dict[str, Any], source: str, raw: dict[str, Any], root: type[BaseModel]
) -> list[str]:
    kind = item["type"]
    loc = tuple(item["loc"])
    ctx = item.get("ctx") or {}
    path = input_path(loc, raw, keep_unwritten_last=kind != CROSS_FIELD)
    if kind == CROSS_FIELD:
        return [
            _line(source, path + tuple(key.split(".")), reason) for key, reason in ctx["problems"]
        ]
    if kind == "extra_forbidden":
        key = str(path[-1])
        users = sibling_users(root, loc[:-1], key)
        if users:  # a key of another member of the same union: say whose
            tag = loc[-2]
            return [_line(source, path, f"is not used by {tag}; only by {_and(users)}")]
        allowed = allowed_keys(root, loc[:-1])
        return [_line(source, path[:-1], unknown_key_reason(key, allowed))]
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        path = path + ("type",)
    reason = _reason(kind, item, ctx)
    value = ctx.get("tag") if kind == "union_tag_invalid" else item.get("input")
    if kind not in NO_VALUE_TYPES:
        reason += f" (got {show_value(value)})"
    if kind == "literal_error":
        reason += did_you_mean(value, _quoted(ctx.get("expected", "")))
    elif kind == "union_tag_invalid":
        reason += did_you_mean(value, _quoted(ctx.get("expected_tags", "")))
    elif kind == "union_tag_not_found":
        tags = union_tags(root, loc)
        reason += f"; one of {', '.join(repr(tag) for tag in tags)}" if tags else ""
    return [_line(source, path, reason)]


def _source_of(
    loc: tuple[Any, ...], raw: Any, source: str, overrides: dict[tuple[str, ...], str]
) -> str:
    """The --set option that wrote the key at LOC (the most specific one), else SOURCE."""
    path = tuple(str(part) for part in input_path(loc, raw))
    best: tuple[str, ...] | None = None
    for keys in overrides:
        inside = path[: len(keys)] == keys or keys[: len(path)] == path
        if inside and path and (best is None or len(keys) > len(best)):
            best = keys
    return overrides[best] if best is not None else source


def _reason(kind: str, item: dict[str, Any], ctx: dict[str, Any]) -> str:
    """The human reason for one pydantic error, without the offending value."""
    if kind in SIMPLE_REASONS:
        return SIMPLE_REASONS[kind]
    for bound, symbol in BOUNDS.items():
        if kind.startswith(("greater_than", "less_than")) and bound in ctx:
            return f"must be {symbol} {show_number(ctx[bound])}"
    if kind == "literal_error":
        return f"must be {ctx.get('expected', 'one of the allowed values')}"
    if kind == "union_tag_invalid":
        return f"must be one of {ctx.get('expected_tags', '')}"
    if kind == "union_tag_not_found":
        return "required key is missing"
    if kind == "too_short":
        return f"must have at least {ctx.get('min_length')} item(s)"
    if kind == "too_long":
        return f"must have at most {ctx.get('max_length')} item(s)"
    if kind in ("value_error", "assertion_error") and "error" in ctx:
        return str(ctx["error"])
    message = str(item.get("msg", kind))
    return message[:1].lower() + message[1:]


def _line(source: str, path: tuple[Any, ...], reason: str) -> str:
    dotted = dotted_path(path)
    return f"{source}: {dotted}: {reason}" if dotted else f"{source}: {reason}"


def dotted_path(path: tuple[Any, ...]) -> str:
    """Render ('model', 'hidden', 1) as 'model.hidden[1]'."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def input_path(loc: tuple[Any, ...], raw: Any, keep_unwritten_last: bool = True) -> tuple[Any, ...]:
    """Drop the parts of a pydantic loc that are union tags, keeping the keys the user wrote.

    The last part is kept even when the input lacks it (a missing or unknown key), unless
    ``keep_unwritten_last`` is false (errors raised by a whole section, whose loc ends in a tag).
    """
    node = raw
    kept: list[Any] = []
    for index, part in enumerate(loc):
        last = index == len(loc) - 1
        if isinstance(node, dict) and node.get("type") == part and part not in node:
            continue  # a discriminator tag such as "mlp" in ('model', 'mlp', 'hidden')
        in_dict = isinstance(node, dict) and part in node
        in_list = isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        if in_dict or in_list:
            kept.append(part)
            node = node[part]
        elif last and keep_unwritten_last:
            kept.append(part)
        # otherwise the part is a tag or validator name that the input never contained
    return tuple(kept)


_SHORT = reprlib.Repr()
_SHORT.maxlevel, _SHORT.maxlist, _SHORT.maxtuple, _SHORT.maxdict = 3, 6, 6, 6
_SHORT.maxstring, _SHORT.maxother, _SHORT.maxlong = 60, 60, 40


def show_value(value: Any, limit: int = 60) -> str:
    """Show a bad value the way it would look in YAML-ish text, shortened if long."""
    if value is None:
        text = "null"
    elif isinstance(value, bool):
        text = "true" if value else "false"
    else:
        text = _SHORT.repr(value)  # bounded: never the repr of a whole expanded structure
    return text if len(text) <= limit else text[: limit - 3] + "..."


def show_number(value: Any) -> str:
    """Show 0.0 as 0 and 1e-08 as 1e-08: the shortest faithful form of a bound."""
    return f"{value:g}" if isinstance(value, float) else str(value)


def _quoted(expected: str) -> list[str]:
    return re.findall(r"'([^']*)'", expected)


def did_you_mean(value: Any, choices: list[str]) -> str:
    """'; did you mean 'x'?' when VALUE is close to one of CHOICES, else ''."""
    if not isinstance(value, str) or not choices:
        return ""
    match = difflib.get_close_matches(value, choices, n=1, cutoff=0.6)
    return f"; did you mean {match[0]!r}?" if match else ""


def unknown_key_reason(key: str, allowed: list[str]) -> str:
    """ "unknown key 'lrr'; did you mean 'lr'?" or the list of allowed keys."""
    hint = did_you_mean(key, allowed)
    if not hint and allowed:
        hint = "; allowed keys: " + ", ".join(allowed)
    return f"unknown key {key!r}{hint}"


def _and(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def sibling_users(root: type[BaseModel], loc: tuple[Any, ...], key: str) -> list[str]:
    """The other tags of the tagged union LOC ends in whose models have KEY (else [])."""
    if len(loc) < 2:
        return []
    parent = model_at(root, loc[:-2])
    field = parent.model_fields.get(loc[-2]) if parent is not None else None
    if field is None:
        return []
    members = models_in(field.annotation)
    if loc[-1] not in members:
        return []
    return [tag for tag, m in members.items() if tag != loc[-1] and key in m.model_fields]


def allowed_keys(root: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """The field names of the model that a pydantic loc (tags included) points into."""
    model = model_at(root, loc)
    return list(model.model_fields) if model is not None else []


def model_at(root: type[BaseModel], loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """Follow a pydantic loc through nested models and tagged unions; None if it leaves them."""
    current = root
    index = 0
    while index < len(loc):
        field = current.model_fields.get(loc[index]) if isinstance(loc[index], str) else None
        if field is None:
            return None
        choices = models_in(field.annotation)
        if set(choices) == {None}:
            current = choices[None]
            index += 1
        elif index + 1 < len(loc) and loc[index + 1] in choices:
            current = choices[loc[index + 1]]
            index += 2
        else:
            return None
    return current


def union_tags(root: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """The tags a discriminated-union field at LOC accepts, e.g. the model types."""
    parent = model_at(root, loc[:-1])
    field = parent.model_fields.get(loc[-1]) if parent is not None and loc else None
    if field is None:
        return []
    return [tag for tag in models_in(field.annotation) if tag is not None]


def models_in(annotation: Any) -> dict[str | None, type[BaseModel]]:
    """Map union tag -> model class for an annotation; a lone model gets the key None."""
    found: dict[str | None, type[BaseModel]] = {}
    _collect(annotation, None, found)
    if len(found) == 1:
        return {None: next(iter(found.values()))}
    return found


def _collect(annotation: Any, tag: str | None, found: dict[str | None, type[BaseModel]]) -> None:
    origin = get_origin(annotation)
    if origin is Annotated:
        inner, *metadata = get_args(annotation)
        tags = [item.tag for item in metadata if isinstance(item, Tag)]
        _collect(inner, tags[0] if tags else tag, found)
    elif origin in (Union, types.UnionType):
        for member in get_args(annotation):
            _collect(member, tag, found)
    elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
        found[tag if tag is not None else _type_tag(annotation)] = annotation


def _type_tag(model: type[BaseModel]) -> str | None:
    """The Literal value of a model's 'type' field: its tag in a discriminated union."""
    field = model.model_fields.get("type")
    if field is None or get_origin(field.annotation) is not Literal:
        return None
    return get_args(field.annotation)[0]
