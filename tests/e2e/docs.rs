//! The README states what the code owns; these tests keep them in step.

use std::process::Command;

use skillhost::{HostConfig, codes};

use crate::common::repo_root;

fn readme() -> String {
    std::fs::read_to_string(repo_root().join("README.md")).unwrap()
}

#[test]
fn readme_lists_every_code() {
    let readme = readme();
    for (code, meaning) in codes::ALL {
        let row = format!("| `{code}` | {meaning} |");
        assert!(readme.contains(&row), "README is missing the row:\n{row}");
    }
    // And no code that the host does not have.
    let table = readme
        .split("## Outcome codes")
        .nth(1)
        .expect("README has an Outcome codes section")
        .split("\n## ")
        .next()
        .unwrap();
    let rows: Vec<&str> = table.lines().filter(|l| l.starts_with("| `")).collect();
    assert_eq!(rows.len(), codes::ALL.len());
    for line in rows {
        let code = line.split('`').nth(1).unwrap();
        assert!(
            codes::describe(code).is_some(),
            "README lists unknown code {code}"
        );
    }
}

#[test]
fn readme_shows_the_default_config() {
    let readme = readme();
    let block = format!("```toml\n{}```", HostConfig::default().to_toml());
    assert!(
        readme.contains(&block),
        "README's default config block must be exactly:\n{block}"
    );
}

#[test]
fn codes_command_matches_the_table() {
    let out = Command::new(env!("CARGO_BIN_EXE_skillhost"))
        .arg("codes")
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let listed: Vec<(String, String)> = text
        .lines()
        .map(|l| {
            let (c, m) = l.split_once('\t').unwrap();
            (c.to_string(), m.to_string())
        })
        .collect();
    let expected: Vec<(String, String)> = codes::ALL
        .iter()
        .map(|(c, m)| (c.to_string(), m.to_string()))
        .collect();
    assert_eq!(listed, expected);
}

#[test]
fn ci_runs_the_readme_test_command() {
    let ci = std::fs::read_to_string(repo_root().join(".ci/run")).unwrap();
    let readme = readme();
    let command = ci
        .lines()
        .find(|l| !l.starts_with('#') && !l.trim().is_empty() && !l.starts_with("set "))
        .unwrap()
        .trim();
    assert!(
        readme.contains(&format!("\n{command}\n")),
        "README must show `{command}`"
    );
}

#[test]
fn readme_lists_every_http_route() {
    let readme = readme();
    for (method, path) in skillhost::api::ROUTES {
        let documented = readme
            .lines()
            .filter(|l| l.starts_with("| `") && l.contains(&format!("{path}`")))
            .any(|l| {
                l.contains(&format!("`{method} {path}`")) || l.contains(&format!("`{method}`"))
            });
        assert!(
            documented,
            "README's route table is missing {method} {path}"
        );
    }
}
