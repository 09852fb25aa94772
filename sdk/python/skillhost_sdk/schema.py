"""JSON Schemas from type hints, and JSON values to and from typed values.

Standard library only. Supported types: ``str``, ``int``, ``float``,
``bool``, ``None``, ``list[T]``, ``dict[str, T]``, ``Optional[T]`` and other
unions, ``Literal[...]``, ``Enum`` subclasses, ``typing.Any``, dataclasses
and ``TypedDict``s (nested, not recursive). A dataclass or ``TypedDict`` is a
closed object: its fields are the properties, those without a default are
required, and other properties are refused.
"""

from __future__ import annotations

import dataclasses
import enum
import types
import typing
from typing import Any, Union

__all__ = ["SchemaError", "schema_of", "from_json", "to_json"]

_NONE = type(None)


class SchemaError(TypeError):
    """A type hint that has no JSON Schema, or a value that does not fit."""


def _is_typeddict(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, dict) and hasattr(tp, "__total__")


def _union_args(tp: Any) -> tuple | None:
    origin = typing.get_origin(tp)
    if origin is Union or origin is types.UnionType:
        return typing.get_args(tp)
    return None


def _hints(tp: Any) -> dict[str, Any]:
    try:
        return typing.get_type_hints(tp)
    except NameError as e:
        raise SchemaError(
            f"cannot resolve the type hints of {tp.__name__} ({e}); "
            "declare the types it uses at module level"
        ) from None


def schema_of(tp: Any, _seen: tuple = ()) -> dict:
    """The JSON Schema (draft 2020-12) of type ``tp``."""
    if tp in _seen:
        raise SchemaError(f"{tp.__name__} refers to itself; recursive types have no schema here")
    if tp is Any:
        return {}
    if tp is _NONE or tp is None:
        return {"type": "null"}
    if tp is bool:
        return {"type": "boolean"}
    if tp is int:
        return {"type": "integer"}
    if tp is float:
        return {"type": "number"}
    if tp is str:
        return {"type": "string"}
    args = _union_args(tp)
    if args is not None:
        return {"anyOf": [schema_of(a, _seen) for a in args]}
    origin = typing.get_origin(tp)
    if origin is typing.Literal:
        values = list(typing.get_args(tp))
        return {"enum": values}
    if origin in (list, typing.List):
        (item,) = typing.get_args(tp) or (Any,)
        return {"type": "array", "items": schema_of(item, _seen)}
    if origin in (dict, typing.Dict):
        key, value = typing.get_args(tp) or (str, Any)
        if key is not str:
            raise SchemaError("dict keys must be str: JSON object keys are strings")
        return {"type": "object", "additionalProperties": schema_of(value, _seen)}
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return {"enum": [m.value for m in tp]}
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        hints = _hints(tp)
        props, required = {}, []
        for f in dataclasses.fields(tp):
            props[f.name] = schema_of(hints[f.name], _seen + (tp,))
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                required.append(f.name)
        return _object(tp, props, required)
    if _is_typeddict(tp):
        hints = _hints(tp)
        props = {k: schema_of(v, _seen + (tp,)) for k, v in hints.items()}
        required = [k for k in hints if k in tp.__required_keys__]
        return _object(tp, props, required)
    raise SchemaError(f"no JSON Schema for the type {tp!r}")


def _object(tp: type, props: dict, required: list) -> dict:
    out: dict = {"type": "object", "properties": props, "required": required,
                 "additionalProperties": False}
    doc = (tp.__doc__ or "").strip()
    # A dataclass without a docstring gets a generated signature as __doc__.
    if doc and not doc.startswith(f"{tp.__name__}("):
        out["description"] = doc
    return out


def from_json(tp: Any, value: Any, where: str = "input") -> Any:
    """Turn a parsed JSON value into a value of type ``tp``, or raise
    :class:`SchemaError` naming where it does not fit."""
    def bad(expected: str) -> SchemaError:
        return SchemaError(f"{where}: expected {expected}, got {type(value).__name__}")

    if tp is Any:
        return value
    if tp is _NONE or tp is None:
        if value is not None:
            raise bad("null")
        return None
    if tp is bool:
        if not isinstance(value, bool):
            raise bad("a boolean")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad("an integer")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise bad("a number")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise bad("a string")
        return value
    args = _union_args(tp)
    if args is not None:
        errors = []
        for a in args:
            try:
                return from_json(a, value, where)
            except SchemaError as e:
                errors.append(str(e))
        raise SchemaError("; ".join(errors))
    origin = typing.get_origin(tp)
    if origin is typing.Literal:
        if value not in typing.get_args(tp):
            raise SchemaError(f"{where}: {value!r} is not one of {list(typing.get_args(tp))}")
        return value
    if origin in (list, typing.List):
        (item,) = typing.get_args(tp) or (Any,)
        if not isinstance(value, list):
            raise bad("an array")
        return [from_json(item, v, f"{where}[{i}]") for i, v in enumerate(value)]
    if origin in (dict, typing.Dict):
        _, item = typing.get_args(tp) or (str, Any)
        if not isinstance(value, dict):
            raise bad("an object")
        return {k: from_json(item, v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        try:
            return tp(value)
        except ValueError:
            raise SchemaError(f"{where}: {value!r} is not one of {[m.value for m in tp]}") from None
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        if not isinstance(value, dict):
            raise bad("an object")
        hints = _hints(tp)
        names = {f.name for f in dataclasses.fields(tp)}
        extra = sorted(set(value) - names)
        if extra:
            raise SchemaError(f"{where}: unknown properties {extra}")
        kwargs = {}
        for f in dataclasses.fields(tp):
            if f.name in value:
                kwargs[f.name] = from_json(hints[f.name], value[f.name], f"{where}.{f.name}")
            elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise SchemaError(f"{where}: missing property {f.name!r}")
        return tp(**kwargs)
    if _is_typeddict(tp):
        if not isinstance(value, dict):
            raise bad("an object")
        hints = _hints(tp)
        extra = sorted(set(value) - set(hints))
        if extra:
            raise SchemaError(f"{where}: unknown properties {extra}")
        missing = sorted(k for k in tp.__required_keys__ if k not in value)
        if missing:
            raise SchemaError(f"{where}: missing properties {missing}")
        return {k: from_json(hints[k], v, f"{where}.{k}") for k, v in value.items()}
    raise SchemaError(f"no JSON mapping for the type {tp!r}")


def to_json(value: Any) -> Any:
    """A typed value (dataclasses, enums, lists, dicts, primitives) as plain
    JSON-ready data."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_json(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return to_json(value.value)
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise SchemaError(f"cannot turn a {type(value).__name__} into JSON")
