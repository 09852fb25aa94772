"""The component's side of the contract: the `guest` export and the
`host` imports, bound to the skill the app declared. Imported by the build's
entry module only (it needs the generated `wit_world` bindings)."""

from __future__ import annotations

import json
import logging
import os
import traceback

from componentize_py_types import Err
from wit_world import exports
from wit_world.imports import host, types

import skillhost_sdk
from skillhost_sdk import http, schema

_LEVELS = [
    (logging.ERROR, types.LogLevel.ERROR),
    (logging.WARNING, types.LogLevel.WARN),
    (logging.INFO, types.LogLevel.INFO),
    (logging.DEBUG, types.LogLevel.DEBUG),
]


class _HostLog(logging.Handler):
    """`logging` records to the host's log."""

    def emit(self, record: logging.LogRecord) -> None:
        level = next((wit for py, wit in _LEVELS if record.levelno >= py), types.LogLevel.TRACE)
        try:
            host.log(level, self.format(record))
        except Exception:  # the host caps records; never fail the skill for a log
            pass


_root = logging.getLogger()
_root.handlers[:] = [_HostLog()]
_root.setLevel(logging.DEBUG)
_log = logging.getLogger("skillhost")


def _fetch(method, url, headers, body):
    req = types.HttpRequest(
        method=method,
        url=url,
        headers=[types.Header(name=k, value=v) for k, v in headers],
        body=body,
    )
    try:
        r = host.http_fetch(req)
    except Err as e:
        raise http.HttpError(e.value.code, e.value.message) from None
    return http.Response(
        status=r.status,
        headers=[(h.name, h.value) for h in r.headers],
        body=bytes(r.body),
    )


http._fetch = _fetch


def _skill():
    s = skillhost_sdk.registered
    if s is None:
        raise RuntimeError("the app declares no skill: decorate its function with @skill(...)")
    return s


class Guest(exports.Guest):
    def metadata(self) -> types.Metadata:
        s = _skill()
        out = s.output_schema()
        return types.Metadata(
            name=s.name,
            version=s.version,
            description=s.description,
            input_schema=json.dumps(s.input_schema()),
            output_schema=None if out is None else json.dumps(out),
            permissions=types.Permissions(
                http=list(s.http),
                secrets=list(s.secrets),
                limits=types.LimitRequest(
                    timeout_ms=s.limits.timeout_ms,
                    memory_bytes=s.limits.memory_bytes,
                    output_bytes=s.limits.output_bytes,
                ),
            ),
        )

    def invoke(self, input: str) -> str:
        s = _skill()
        try:
            try:
                value = schema.from_json(s.input_type, json.loads(input))
            except (ValueError, schema.SchemaError) as e:
                raise skillhost_sdk.SkillError(
                    "invalid_input", f"input does not match the skill's input type: {e}"
                ) from None
            out = schema.to_json(s.func(value))
            return json.dumps(out, ensure_ascii=False, separators=(",", ":"))
        except skillhost_sdk.SkillError as e:
            raise Err(types.SkillError(code=e.code, message=e.message)) from None
        except http.HttpError as e:
            code = "fetch." + e.code.replace(".", "_")
            raise Err(types.SkillError(code=code, message=e.message)) from None
        except MemoryError:
            # The host refused to grow memory past the skill's limit. Stop
            # here, as a Rust skill's failed allocation does, so the caller
            # gets `limits.memory` rather than a skill error.
            _log.error("out of memory")
            os.abort()
        except Exception as e:
            _log.error("uncaught exception:\n%s", traceback.format_exc())
            raise Err(
                types.SkillError(code="uncaught_exception", message=f"{type(e).__name__}: {e}")
            ) from None
