"""``python -m skillhost_sdk build APP.py [-o OUT.wasm]``: build a skill
component from a Python module with componentize-py.

The component is a snapshot of CPython after ``APP`` was imported: modules
imported at the top level of ``APP`` (and by the SDK) are in it, anything
else is not. Dependencies are found on ``--path`` entries and ``sys.path``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

#: The componentize-py release the host is tested with.
COMPONENTIZE_PY = "0.25.1"

_ENTRY = """\
import {module}  # declares the skill
from skillhost_sdk._guest import Guest
"""


def _componentize_py() -> list[str]:
    exe = shutil.which("componentize-py")
    if exe is None:
        candidate = Path(sys.executable).with_name("componentize-py")
        if candidate.exists():
            exe = str(candidate)
    if exe is None:
        raise SystemExit(
            "componentize-py was not found. Install it next to the SDK:\n"
            f"  pip install 'componentize-py=={COMPONENTIZE_PY}'\n"
            "(or: pip install 'skillhost-sdk[build]')"
        )
    return [exe]


def build(app: Path, out: Path, paths: list[Path]) -> Path:
    """Build ``app`` into the component ``out``; returns ``out``."""
    app = app.resolve()
    if app.suffix != ".py" or not app.is_file():
        raise SystemExit(f"{app} is not a Python file")
    module = app.stem
    if not module.isidentifier():
        raise SystemExit(f"{app.name}: the module name {module!r} is not a Python identifier")
    sdk_root = Path(__file__).resolve().parent.parent
    wit = Path(__file__).resolve().parent / "wit"
    with tempfile.TemporaryDirectory(prefix="skillhost-build-") as tmp:
        entry = Path(tmp) / "skillhost_entry.py"
        entry.write_text(_ENTRY.format(module=module))
        cmd = _componentize_py() + [
            "-d", str(wit), "-w", "skill", "componentize", "skillhost_entry",
            "-p", tmp, "-p", str(app.parent), "-p", str(sdk_root),
        ]
        for p in paths:
            cmd += ["-p", str(p)]
        cmd += ["-o", str(out)]
        done = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if done.returncode != 0:
            sys.stderr.write(done.stdout)
            raise SystemExit(f"componentize-py failed (exit {done.returncode})")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m skillhost_sdk")
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="build a skill component from a Python module")
    b.add_argument("app", type=Path, help="the module that declares the skill (app.py)")
    b.add_argument("-o", "--output", type=Path, help="the component [default: APP.wasm]")
    b.add_argument("-p", "--path", type=Path, action="append", default=[],
                   help="another directory to import from (repeatable)")
    args = parser.parse_args(argv)
    out = (args.output or args.app.with_suffix(".wasm")).resolve()
    build(args.app, out, args.path)
    size = os.path.getsize(out)
    print(f"built {out} ({size / 1e6:.1f} MB)")
    print(f"run it: skillhost dev {out} --input '{{}}'")
    return 0
