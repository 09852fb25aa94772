"""Outbound HTTP through the host.

Every request goes through the host's egress policy: only what the owner
granted is reachable, redirects are never followed (a 3xx comes back as a
:class:`Response`), and private addresses are refused. A refusal raises
:class:`HttpError` whose ``code`` is the host's stable code, for example
``egress.host_not_allowed`` or ``secret.destination_not_allowed``.

There is no other way out: the sandbox has no sockets, so ``urllib``,
``http.client`` and ``socket`` find nothing to connect to.

Put a secret in a header value with :func:`skillhost_sdk.secret`; the host
substitutes it after its checks, and the skill never sees the value.
"""

from __future__ import annotations

import json as _json
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

__all__ = ["HttpError", "Response", "request", "get", "post", "get_json"]


class HttpError(Exception):
    """Why the host refused or failed a request, or why a response was not
    what was asked for (``http.status`` from :meth:`Response.raise_for_status`,
    ``http.decode`` from :meth:`Response.json`)."""

    def __init__(self, code: str, message: str):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


@dataclass
class Response:
    """A response from the destination, after the host's size caps."""

    status: int
    #: Header names lower-cased, in the order received.
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    def header(self, name: str) -> Optional[str]:
        """The first value of header ``name`` (any case), if present."""
        name = name.lower()
        return next((v for k, v in self.headers if k == name), None)

    def text(self) -> str:
        """The body as UTF-8 (invalid bytes replaced)."""
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """The body parsed as JSON; :class:`HttpError` ``http.decode`` if it
        is not."""
        try:
            return _json.loads(self.body)
        except ValueError as e:
            raise HttpError("http.decode", f"the response body is not JSON: {e}") from None

    def raise_for_status(self) -> "Response":
        """This response if its status is below 400, else :class:`HttpError`
        ``http.status``."""
        if self.status >= 400:
            raise HttpError("http.status", f"the destination answered {self.status}")
        return self


# Set by the component's entry point to the host's `http-fetch`; None when
# the SDK runs natively (an author's own tests).
_fetch: Optional[Callable[[str, str, list, Optional[bytes]], Response]] = None


def request(
    method: str,
    url: str,
    headers: Optional[dict[str, str] | list[tuple[str, str]]] = None,
    body: Optional[bytes | str] = None,
) -> Response:
    """Send one request through the host. ``method`` is sent exactly as
    written (``GET``, not ``get``); ``headers`` is a dict or a list of pairs;
    a ``str`` body is sent as UTF-8."""
    if _fetch is None:
        raise HttpError(
            "sdk.no_host",
            "outbound HTTP works only inside skillhost; in native tests, call the "
            "skill's logic with the data instead",
        )
    pairs = list(headers.items()) if isinstance(headers, dict) else list(headers or [])
    data = body.encode("utf-8") if isinstance(body, str) else body
    return _fetch(method, url, pairs, data)


def get(url: str, headers: Optional[dict[str, str]] = None) -> Response:
    """``GET url``."""
    return request("GET", url, headers)


def post(url: str, body: bytes | str, headers: Optional[dict[str, str]] = None) -> Response:
    """``POST url`` with ``body``."""
    return request("POST", url, headers, body)


def get_json(url: str, headers: Optional[dict[str, str]] = None) -> Any:
    """``GET url`` asking for JSON; the parsed body of a 2xx answer, or
    :class:`HttpError`."""
    h = {"accept": "application/json"}
    h.update(headers or {})
    return get(url, h).raise_for_status().json()
