//! The README states what the code owns; these tests keep them in step.

use skillhost::{HostConfig, codes};

use crate::common::{repo_root, skillhost_cli};

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
    // `codes` needs no data dir; an empty one keeps it away from any other.
    let dir = tempfile::tempdir().unwrap();
    let out = skillhost_cli(dir.path()).arg("codes").output().unwrap();
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

/// The README's HTTP status table says which status each code gets; the
/// server decides it in `status_for`. Every code whose status is not 500
/// must be listed (by name, or by its namespace as `ns.*`) in its status's
/// row, and every code a row names must get that status. Reports every
/// failing row at once.
#[test]
fn readme_status_table_matches_the_server() {
    use skillhost::api::status_for;
    let readme = readme();
    let table = readme
        .split("| status | codes |\n| --- | --- |\n")
        .nth(1)
        .expect("README has the HTTP status table")
        .split("\n\n")
        .next()
        .unwrap();
    let mut rows: Vec<(u16, &str)> = Vec::new();
    for line in table.lines() {
        let mut cells = line.split('|').map(str::trim).filter(|c| !c.is_empty());
        let status = cells.next().and_then(|s| s.parse().ok());
        let text = cells.next();
        match (status, text) {
            (Some(s), Some(t)) => rows.push((s, t)),
            _ => panic!("unreadable status row: {line}"),
        }
    }
    let named = |text: &str| -> Vec<String> {
        text.split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_string)
            .collect()
    };
    let produced: std::collections::BTreeSet<u16> = codes::ALL
        .iter()
        .map(|(c, _)| status_for(c).as_u16())
        .collect();
    let mut failures = Vec::new();
    for (code, _) in codes::ALL {
        let status = status_for(code).as_u16();
        if status == 500 {
            continue;
        }
        let namespace = format!("{}.*", code.split('.').next().unwrap());
        let listed = rows.iter().any(|(s, text)| {
            *s == status && named(text).iter().any(|n| n == code || *n == namespace)
        });
        if !listed {
            failures.push(format!("{code} gets {status} but its row does not list it"));
        }
    }
    for (status, text) in &rows {
        if !produced.contains(status) {
            continue; // a status set outside status_for (414, 431)
        }
        for name in named(text) {
            if let Some(ns) = name.strip_suffix(".*") {
                let covers = codes::ALL.iter().any(|(c, _)| {
                    c.split('.').next() == Some(ns) && status_for(c).as_u16() == *status
                });
                if !covers {
                    failures.push(format!("row {status}: no `{name}` code gets {status}"));
                }
            } else if codes::describe(&name).is_some() {
                let got = status_for(&name).as_u16();
                if got != *status {
                    failures.push(format!("row {status} lists `{name}`, which gets {got}"));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
