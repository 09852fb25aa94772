"""Native tests of the Python SDK (no component, no host): schemas from type
hints, JSON to typed values and back, the decorator, and the HTTP helpers'
behaviour outside the host. Run with ``python -m unittest`` from sdk/python."""

from __future__ import annotations

import enum
import unittest
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Optional, TypedDict

import skillhost_sdk
from skillhost_sdk import Limits, SkillError, http, schema, secret, skill


class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


@dataclass
class Inner:
    n: int


@dataclass
class Everything:
    """Every supported shape."""
    s: str
    i: int
    f: float
    b: bool
    items: list[Inner]
    tags: dict[str, int]
    maybe: Optional[str]
    mode: Literal["a", "b"]
    colour: Colour
    anything: Any
    default: int = 3
    more: list[str] = field(default_factory=list)


class Movie(TypedDict):
    title: str
    year: int


@dataclass
class Loop:
    next: Optional["Loop"]


@dataclass
class In:
    text: str


@dataclass
class Out:
    words: int


class SchemaTests(unittest.TestCase):
    def test_dataclass_schema(self):
        s = schema.schema_of(Everything)
        self.assertEqual(s["type"], "object")
        self.assertFalse(s["additionalProperties"])
        self.assertEqual(s["description"], "Every supported shape.")
        self.assertEqual(
            s["required"],
            ["s", "i", "f", "b", "items", "tags", "maybe", "mode", "colour", "anything"],
        )
        p = s["properties"]
        self.assertEqual(p["s"], {"type": "string"})
        self.assertEqual(p["i"], {"type": "integer"})
        self.assertEqual(p["f"], {"type": "number"})
        self.assertEqual(p["b"], {"type": "boolean"})
        self.assertEqual(p["items"]["items"]["properties"]["n"], {"type": "integer"})
        self.assertEqual(p["tags"], {"type": "object", "additionalProperties": {"type": "integer"}})
        self.assertEqual(p["maybe"], {"anyOf": [{"type": "string"}, {"type": "null"}]})
        self.assertEqual(p["mode"], {"enum": ["a", "b"]})
        self.assertEqual(p["colour"], {"enum": ["red", "blue"]})
        self.assertEqual(p["anything"], {})
        self.assertNotIn("description", p["items"]["items"])  # generated doc

    def test_typeddict_schema(self):
        s = schema.schema_of(Movie)
        self.assertEqual(s["required"], ["title", "year"])
        self.assertEqual(s["properties"]["year"], {"type": "integer"})

    def test_unsupported_types_are_refused(self):
        for tp in [set[int], dict[int, str], bytes, Loop]:
            with self.assertRaises(schema.SchemaError, msg=str(tp)):
                schema.schema_of(tp)

    def test_round_trip(self):
        value = {
            "s": "x", "i": 1, "f": 2, "b": True, "items": [{"n": 4}],
            "tags": {"k": 1}, "maybe": None, "mode": "b", "colour": "blue",
            "anything": {"deep": [1]},
        }
        typed = schema.from_json(Everything, value)
        self.assertIsInstance(typed.items[0], Inner)
        self.assertIs(typed.colour, Colour.BLUE)
        self.assertEqual(typed.f, 2.0)
        back = schema.to_json(typed)
        self.assertEqual(back, {**value, "f": 2.0, "default": 3, "more": []})

    def test_values_that_do_not_fit_are_named(self):
        base = {"s": "x", "i": 1, "f": 2, "b": True, "items": [], "tags": {},
                "maybe": None, "mode": "a", "colour": "red", "anything": 1}
        for change, where in [
            ({"i": True}, "input.i"),
            ({"i": 1.5}, "input.i"),
            ({"items": [{"n": "x"}]}, "input.items[0].n"),
            ({"mode": "c"}, "input"),
            ({"colour": "green"}, "input"),
            ({"extra": 1}, "unknown properties"),
        ]:
            with self.assertRaises(schema.SchemaError, msg=str(change)) as e:
                schema.from_json(Everything, {**base, **change})
            self.assertIn(where, str(e.exception))
        with self.assertRaises(schema.SchemaError):
            schema.from_json(Everything, {k: v for k, v in base.items() if k != "s"})


class DecoratorTests(unittest.TestCase):
    def tearDown(self):
        skillhost_sdk.registered = None

    def test_the_decorator_registers_a_callable_skill(self):
        @skill(name="count", version="1.0.0", description="Counts.",
               http=["GET https://api.example.com/v1/"], secrets=["TOKEN"],
               limits=Limits(timeout_ms=500))
        def invoke(input: In) -> Out:
            return Out(words=len(input.text.split()))

        self.assertIs(skillhost_sdk.registered, invoke)
        self.assertEqual(invoke(In(text="a b")).words, 2)
        self.assertEqual(invoke.input_schema()["required"], ["text"])
        self.assertEqual(invoke.output_schema()["properties"]["words"], {"type": "integer"})
        self.assertEqual(invoke.http, ("GET https://api.example.com/v1/",))
        self.assertEqual(invoke.limits.timeout_ms, 500)

    def test_a_function_needs_one_typed_argument(self):
        with self.assertRaises(TypeError):
            @skill(name="x", version="1", description="x")
            def invoke(a, b):  # noqa: ANN001
                return None

    def test_a_schemaless_type_fails_at_declaration(self):
        with self.assertRaises(schema.SchemaError):
            @skill(name="x", version="1", description="x")
            def invoke(input: set) -> int:
                return 1


class HelperTests(unittest.TestCase):
    def test_secret_placeholder(self):
        self.assertEqual(secret("API_TOKEN"), "{{secret:API_TOKEN}}")

    def test_http_outside_the_host_says_so(self):
        with self.assertRaises(http.HttpError) as e:
            http.get("https://api.example.com/")
        self.assertEqual(e.exception.code, "sdk.no_host")

    def test_response_helpers(self):
        r = http.Response(status=404, headers=[("content-type", "text/plain")], body=b"{}")
        self.assertEqual(r.header("Content-Type"), "text/plain")
        self.assertEqual(r.json(), {})
        with self.assertRaises(http.HttpError) as e:
            r.raise_for_status()
        self.assertEqual(e.exception.code, "http.status")
        with self.assertRaises(http.HttpError):
            http.Response(status=200, body=b"not json").json()

    def test_skill_error_carries_code_and_message(self):
        e = SkillError("bad_tag", "no")
        self.assertEqual((e.code, e.message), ("bad_tag", "no"))

    def test_the_packaged_contract_is_the_host_contract(self):
        here = Path(__file__).resolve()
        packaged = here.parents[1] / "skillhost_sdk" / "wit" / "skill.wit"
        host = here.parents[3] / "wit" / "skill.wit"
        self.assertEqual(packaged.read_bytes(), host.read_bytes())


if __name__ == "__main__":
    unittest.main()
