"""Calls an API with a bearer token it never sees: the host substitutes the
secret into the header after its checks. The Python twin of the Rust
`bearer-client` example."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from skillhost_sdk import HttpError, http, secret, skill

API = "https://json-api.test:47443"


@dataclass
class Input:
    """`path` on the API (default `/v1/private`); or a full `url` instead, to
    try other destinations."""

    path: Optional[str] = None
    url: Optional[str] = None


@dataclass
class Output:
    status: Optional[int] = None
    body: Optional[str] = None
    refused: Optional[str] = None


@skill(
    name="py-bearer-client",
    version="0.1.0",
    description="Fetches a private resource from the example API with a bearer token.",
    http=[API],
    secrets=["API_TOKEN"],
)
def invoke(input: Input) -> Output:
    url = input.url or API + (input.path or "/v1/private")
    try:
        r = http.get(url, {"authorization": "Bearer " + secret("API_TOKEN")})
    except HttpError as e:
        return Output(refused=e.code)
    return Output(status=r.status, body=r.text())
