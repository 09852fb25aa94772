//! `skillhost new NAME --lang python`: a ready skill project. The SDK is
//! written into the project (`skillhost_sdk/`, the exact files of
//! `sdk/python` this binary was built with), so the project needs nothing
//! from this repository; `build.sh` installs the pinned componentize-py in
//! a local venv, builds the component and prints where it is.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use serde_json::json;

use super::fail;
use skillhost::codes;

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Lang {
    Python,
}

#[derive(Debug, Args)]
pub struct NewArgs {
    /// The skill's name: lower-case letters, digits and '-'. Also the
    /// project directory.
    pub name: String,
    /// The language of the skill.
    #[arg(long, value_enum)]
    pub lang: Lang,
    /// Where to create the project directory [default: .].
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub dir: PathBuf,
}

/// The Python SDK as embedded in this binary: (path in the package, text).
const PYTHON_SDK: &[(&str, &str)] = &[
    (
        "__init__.py",
        include_str!("../../../sdk/python/skillhost_sdk/__init__.py"),
    ),
    (
        "__main__.py",
        include_str!("../../../sdk/python/skillhost_sdk/__main__.py"),
    ),
    (
        "_guest.py",
        include_str!("../../../sdk/python/skillhost_sdk/_guest.py"),
    ),
    (
        "build.py",
        include_str!("../../../sdk/python/skillhost_sdk/build.py"),
    ),
    (
        "http.py",
        include_str!("../../../sdk/python/skillhost_sdk/http.py"),
    ),
    (
        "schema.py",
        include_str!("../../../sdk/python/skillhost_sdk/schema.py"),
    ),
    ("py.typed", ""),
    ("wit/skill.wit", include_str!("../../../wit/skill.wit")),
];

const BUILD_REQUIREMENTS: &str = include_str!("../../../sdk/python/requirements-build.txt");

fn python_app(name: &str) -> String {
    format!(
        r#""""{name}: a skillhost skill. Edit the input and output types and the
function; the JSON Schemas follow the type hints."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from skillhost_sdk import SkillError, skill

log = logging.getLogger(__name__)


@dataclass
class Input:
    """What the skill is called with."""

    text: str


@dataclass
class Output:
    words: int


@skill(
    name="{name}",
    version="0.1.0",
    description="Counts the words in a text.",
    # http=["GET https://api.example.com/v1/"],  # what it may reach
    # secrets=["API_TOKEN"],                      # placeholders it may use
)
def invoke(input: Input) -> Output:
    if not input.text.strip():
        raise SkillError("empty_text", "give me some text")
    log.info("counting")
    return Output(words=len(input.text.split()))
"#
    )
}

const PYTHON_TEST: &str = r#""""Native tests: the skill is a plain function over plain data."""

import unittest

from app import Input, invoke
from skillhost_sdk import SkillError


class AppTests(unittest.TestCase):
    def test_counts_words(self):
        self.assertEqual(invoke(Input(text="one two three")).words, 3)

    def test_refuses_empty_text(self):
        with self.assertRaises(SkillError) as e:
            invoke(Input(text="  "))
        self.assertEqual(e.exception.code, "empty_text")

    def test_the_schema_follows_the_types(self):
        self.assertEqual(invoke.input_schema()["required"], ["text"])


if __name__ == "__main__":
    unittest.main()
"#;

fn python_build(name: &str) -> String {
    format!(
        r#"#!/usr/bin/env bash
# Build {name}.wasm: a local venv with the pinned componentize-py, then the
# SDK's build. Prints where the component is.
set -euo pipefail
cd "$(dirname "$0")"
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/pip install --quiet --disable-pip-version-check -r requirements.txt
PATH="$PWD/.venv/bin:$PATH" .venv/bin/python -m skillhost_sdk build app.py -o {name}.wasm
"#
    )
}

fn python_readme(name: &str) -> String {
    format!(
        "# {name}\n\n\
         A skillhost skill in Python.\n\n\
         ```sh\n\
         python3 -m unittest            # the skill's own tests, natively\n\
         ./build.sh                     # {name}.wasm (installs componentize-py in .venv)\n\
         skillhost dev {name}.wasm --input '{{\"text\": \"hello world\"}}'\n\
         ```\n\n\
         `app.py` declares the skill. The input and output types are dataclasses;\n\
         the JSON Schemas come from their type hints. `skillhost_sdk/` is the SDK,\n\
         written here by `skillhost new`. The component is a snapshot of the\n\
         interpreter after `app.py` was imported: import every module you use at\n\
         the top level.\n"
    )
}

fn write(path: &Path, text: &str) -> Result<(), ExitCode> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| io(parent, e))?;
    }
    std::fs::write(path, text).map_err(|e| io(path, e))
}

fn io(path: &Path, e: std::io::Error) -> ExitCode {
    fail(&json!({
        "code": codes::HOST_IO,
        "message": format!("cannot write {}: {e}", path.display()),
    }))
}

pub fn new(args: NewArgs) -> ExitCode {
    match new_inner(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(code) => code,
    }
}

fn new_inner(args: NewArgs) -> Result<(), ExitCode> {
    let name = &args.name;
    if skillhost::SkillName::parse(name).is_err() {
        return Err(fail(&json!({
            "code": codes::REGISTRY_INVALID_NAME,
            "message": format!("{name:?} is not a skill name: lower-case letters, digits and '-', starting with a letter"),
        })));
    }
    let root = args.dir.join(name);
    if root.exists() {
        return Err(fail(&json!({
            "code": codes::HOST_IO,
            "message": format!("{} already exists; nothing was written", root.display()),
        })));
    }
    match args.lang {
        Lang::Python => {
            for (file, text) in PYTHON_SDK {
                write(&root.join("skillhost_sdk").join(file), text)?;
            }
            write(&root.join("app.py"), &python_app(name))?;
            write(&root.join("test_app.py"), PYTHON_TEST)?;
            write(&root.join("requirements.txt"), BUILD_REQUIREMENTS)?;
            write(&root.join("README.md"), &python_readme(name))?;
            let build = root.join("build.sh");
            write(&build, &python_build(name))?;
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt as _;
                std::fs::set_permissions(&build, std::fs::Permissions::from_mode(0o755))
                    .map_err(|e| io(&build, e))?;
            }
        }
    }
    outln!("created {}", root.display());
    outln!(
        "next: {}/build.sh && skillhost dev {}/{name}.wasm --input '{{\"text\": \"hello world\"}}'",
        root.display(),
        root.display()
    );
    Ok(())
}
