//! Keeping granted secrets out of everything that reaches the guest or the
//! caller. The matching itself (every reflected form, case-insensitive,
//! partial copies) is [`skillhost_policy::scan::Scanner`]; this module applies it
//! at each place a value could cross, and records what it replaced.

use std::sync::Arc;

use serde::Serialize;

use super::SecretGrants;
use crate::contract::HttpResponse;

/// Shortest value the vault accepts: shorter ones cannot be redacted
/// without also erasing ordinary text.
pub const MIN_SECRET_LEN: usize = 8;

/// A secret found (and replaced) in something returned to or produced by
/// a skill.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Redaction {
    pub name: String,
    /// e.g. `response_body`, `response_header`, `output`, `log`, `error`.
    pub location: &'static str,
    pub count: usize,
}

/// The scanner of one invocation and what it found so far.
#[derive(Debug, Default)]
pub struct Redactor {
    grants: Arc<SecretGrants>,
    found: Vec<Redaction>,
}

impl Redactor {
    pub fn new(grants: Arc<SecretGrants>) -> Self {
        Redactor {
            grants,
            found: Vec::new(),
        }
    }

    pub fn grants(&self) -> &SecretGrants {
        &self.grants
    }

    /// What was replaced, and where.
    pub fn take(&mut self) -> Vec<Redaction> {
        std::mem::take(&mut self.found)
    }

    fn note(&mut self, location: &'static str, found: Vec<skillhost_policy::scan::Found>) {
        for f in found {
            match self
                .found
                .iter_mut()
                .find(|r| r.name == f.name && r.location == location)
            {
                Some(r) => r.count += f.count,
                None => self.found.push(Redaction {
                    name: f.name,
                    location,
                    count: f.count,
                }),
            }
        }
    }

    /// Redact `text`, then cut it to `max` bytes, never leaving a secret's
    /// prefix at the cut. Without secrets, only the cut.
    pub fn clean(&mut self, text: &str, max: usize, location: &'static str) -> String {
        let grants = self.grants.clone();
        match grants.scanner() {
            None => skillhost_policy::scan::cut(text, max).to_string(),
            Some(scanner) => {
                let (clean, found) = scanner.redact_and_cut(text, max);
                self.note(location, found);
                clean
            }
        }
    }

    /// Drop a tail of `text` that begins a secret (8 bytes or more): for
    /// text that something upstream already cut, such as the capped stdio.
    pub fn trim_cut_tail(&self, text: &mut String) {
        if let Some(scanner) = self.grants.scanner() {
            scanner.trim_prefix(text);
        }
    }

    /// Redact a response before the guest sees any of it: body, header
    /// names and values. Runs for every response of a skill granted any
    /// secret, whether or not this request carried one.
    pub fn response(&mut self, response: &mut HttpResponse) {
        let grants = self.grants.clone();
        let Some(scanner) = grants.scanner() else {
            return;
        };
        let found = scanner.redact(&mut response.body);
        self.note("response_body", found);
        let mut in_headers = Vec::new();
        for h in &mut response.headers {
            in_headers.extend(scanner.redact_text(&mut h.name));
            in_headers.extend(scanner.redact_text(&mut h.value));
        }
        self.note("response_header", in_headers);
    }

    /// The skill's output as the caller will read it: parsed, scanned,
    /// re-serialised canonically and scanned again. `Err` carries why the
    /// output cannot be parsed. Without secrets the output is left as is.
    pub fn output(&mut self, output: &mut String) -> Result<(), String> {
        let grants = self.grants.clone();
        let Some(scanner) = grants.scanner() else {
            return Ok(());
        };
        let (canonical, found) =
            skillhost_policy::canon::canonical_json(scanner, output).map_err(|e| e.to_string())?;
        *output = canonical;
        self.note("output", found);
        Ok(())
    }
}
