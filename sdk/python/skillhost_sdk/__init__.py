"""Write skillhost skills in Python.

A skill is one typed function and its manifest::

    from dataclasses import dataclass
    from skillhost_sdk import skill

    @dataclass
    class Input:
        text: str

    @dataclass
    class Output:
        words: int

    @skill(name="word-count", version="1.0.0", description="Counts words.")
    def invoke(input: Input) -> Output:
        return Output(words=len(input.text.split()))

Build it into a component with ``python -m skillhost_sdk build app.py``
(needs ``componentize-py``, the ``build`` extra) and run it with
``skillhost dev app.wasm --input '{"text": "a b"}'``.

- The input and output JSON Schemas are derived from the type hints
  (:mod:`skillhost_sdk.schema`); the host validates the input before the
  skill runs.
- :class:`SkillError` returns a skill error with your code; any other
  exception becomes ``uncaught_exception`` with its traceback logged, never
  a trap.
- :mod:`skillhost_sdk.http` reaches what the owner granted; :func:`secret`
  writes a placeholder the host substitutes.
- The ``logging`` module writes to the host's log.

The component is a snapshot of the interpreter after your module was
imported: import at the top level every module you use at run time.
"""

from __future__ import annotations

import dataclasses
import typing
from typing import Any, Callable, Optional

from . import http, schema
from .http import HttpError

__all__ = ["skill", "SkillError", "Limits", "secret", "http", "HttpError", "Skill"]


class SkillError(Exception):
    """An error the skill reports itself: the caller gets ``skill.error``
    with this ``code`` (lower-case letters, digits, ``_``, ``-`` and ``.``,
    outside the host's namespaces) and ``message``."""

    def __init__(self, code: str, message: str):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


@dataclasses.dataclass(frozen=True)
class Limits:
    """Limits a skill asks for. The owner's configuration always wins: a
    request can lower a limit for this skill, never raise it."""

    timeout_ms: Optional[int] = None
    memory_bytes: Optional[int] = None
    output_bytes: Optional[int] = None


def secret(name: str) -> str:
    """The placeholder for secret ``name`` (``{{secret:NAME}}``), to put in a
    header value. The host substitutes the value only for a request the
    secret's rules allow; the skill never sees it."""
    return "{{secret:" + name + "}}"


@dataclasses.dataclass(frozen=True)
class Skill:
    """A skill as the decorator registered it."""

    name: str
    version: str
    description: str
    func: Callable[[Any], Any]
    input_type: Any
    output_type: Any
    http: tuple[str, ...]
    secrets: tuple[str, ...]
    limits: Limits

    def input_schema(self) -> dict:
        return schema.schema_of(self.input_type)

    def output_schema(self) -> Optional[dict]:
        if self.output_type is None:
            return None
        return schema.schema_of(self.output_type)

    def __call__(self, input: Any) -> Any:
        return self.func(input)


#: The skill of this component, set by :func:`skill`.
registered: Optional[Skill] = None


def skill(
    *,
    name: str,
    version: str,
    description: str,
    http: typing.Sequence[str] = (),
    secrets: typing.Sequence[str] = (),
    limits: Limits = Limits(),
) -> Callable[[Callable[[Any], Any]], Skill]:
    """Declare the skill: its name (lower-case letters, digits and ``-``),
    version, description, the HTTP rules it asks for (a bare origin
    ``https://api.example.com``, or ``GET,POST https://api.example.com/v1/``),
    the secrets it asks for, and limits. Decorates ``def invoke(input: In) ->
    Out``; the schemas come from those two type hints. One skill per
    component."""

    def register(func: Callable[[Any], Any]) -> Skill:
        global registered
        hints = typing.get_type_hints(func)
        params = [p for p in hints if p != "return"]
        if len(params) != 1:
            raise TypeError(f"{func.__name__} must take exactly one typed argument, the input")
        s = Skill(
            name=name,
            version=version,
            description=description,
            func=func,
            input_type=hints[params[0]],
            output_type=hints.get("return"),
            http=tuple(http),
            secrets=tuple(secrets),
            limits=limits,
        )
        # Fail at build time, not at the first call.
        s.input_schema()
        s.output_schema()
        if registered is not None and registered.name != name:
            raise TypeError(f"one skill per component: {registered.name} is already declared")
        registered = s
        return s

    return register
