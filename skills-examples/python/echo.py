"""Returns its input: the Python twin of the Rust `echo` example, used to
measure what the interpreter costs per call."""

from typing import Any

from skillhost_sdk import skill


@skill(name="py-echo", version="0.1.0", description="Returns its input unchanged.")
def invoke(input: Any) -> Any:
    return input
