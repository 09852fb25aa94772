"""A skill that attacks its sandbox, one mode at a time, and reports what it
found. Used by the host's tests; every mode must end in a refusal or find
nothing."""

from __future__ import annotations

import os
import socket
import urllib.request
from dataclasses import dataclass
from typing import Any, Literal

from skillhost_sdk import HttpError, http, skill

Mode = Literal["loop", "hog", "bomb", "egress", "files", "env", "socket", "fetch"]


@dataclass
class Input:
    mode: Mode


@skill(
    name="py-adversarial",
    version="0.1.0",
    description="Tries to escape its limits and sandbox, one mode at a time.",
)
def invoke(input: Input) -> dict[str, Any]:
    mode = input.mode
    if mode == "loop":
        n = 0
        while True:
            n += 1
    if mode == "hog":
        hoard = []
        while True:
            hoard.append(bytearray(4 << 20))
    if mode == "bomb":
        return {"data": "x" * (8 << 20)}
    if mode == "egress":
        try:
            http.get("https://example.com/")
            return {"reached": True}
        except HttpError as e:
            return {"refused": e.code}
    if mode == "files":
        found = {}
        for path in ["/", ".", "/etc/passwd", "/proc/self/environ"]:
            try:
                found[path] = os.listdir(path) if os.path.isdir(path) else open(path).read(64)
            except OSError as e:
                found[path] = f"error: {e.strerror}"
        return {"files": found}
    if mode == "env":
        return {"env": dict(os.environ)}
    if mode == "socket":
        try:
            s = socket.create_connection(("127.0.0.1", 80), timeout=1)
            s.close()
            return {"socket": "connected"}
        except Exception as e:
            return {"socket": f"error: {type(e).__name__}"}
    if mode == "fetch":
        try:
            urllib.request.urlopen("http://127.0.0.1/", timeout=1)
            return {"urllib": "connected"}
        except Exception as e:
            return {"urllib": f"error: {type(e).__name__}"}
    return {}
