//! Finding a secret in anything that crosses the sandbox boundary.
//!
//! A [`Scanner`] is built once per invocation from the secrets a skill is
//! granted. It finds each of them in a byte string:
//!
//! - **case-insensitively** (ASCII): a lower-cased copy of a mixed-case
//!   token leaves few enough guesses to brute-force;
//! - **as a partial copy**: any run of at least [`PARTIAL_RUN`] consecutive
//!   bytes of a secret (or half of it, if that is shorter) counts as the
//!   secret;
//! - **in the forms servers and frameworks produce when they echo a value**:
//!   JSON string escapes (`\"`, `\\`, `\uXXXX` for any character), HTML and
//!   XML entities (named, decimal, hex), percent-encoding (either case, `+`
//!   for space, doubled), MIME quoted-printable with soft line breaks,
//!   base64 (standard or URL-safe, at any alignment, with any whitespace
//!   inside), UTF-16 (either byte order, with or without a BOM) and hex
//!   (either case, with or without separators), and any two of these
//!   layered (JSON-escaped base64, percent-encoded percent-encoding, ...).
//!
//! Matching runs one multi-pattern automaton (Aho-Corasick) over the
//! original bytes and over each decoded view of them; every decoded byte
//! remembers which original bytes it came from, so a match anywhere
//! redacts the original span.
//!
//! What no scanner can promise: a destination that deliberately transforms
//! a value (reverses it, splits it, shifts it, encrypts it) before echoing
//! it back is not recognised. A secret's destinations must be trusted not to
//! transform and reflect it.

mod views;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use zeroize::Zeroizing;

use views::View;

/// A run of this many consecutive bytes of a secret counts as the secret.
pub const PARTIAL_RUN: usize = 12;

/// A cut never leaves a prefix of a secret this long at its end.
pub const CUT_PREFIX: usize = 8;

/// Layers of encoding decoded around a value (JSON-escaped base64 is two).
pub const DEPTH: usize = 2;

/// The run length that counts as a copy of a secret `len` bytes long.
pub fn partial_run(len: usize) -> usize {
    PARTIAL_RUN.min(len.div_ceil(2)).max(1)
}

/// How many times one secret was found and replaced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub name: String,
    pub count: usize,
}

struct Entry {
    name: String,
    /// ASCII-lower-cased value, for prefix checks at a cut.
    lower: Zeroizing<Vec<u8>>,
}

/// Finds and redacts a set of named secrets. Holds the values only inside
/// the automaton and in zeroizing buffers.
pub struct Scanner {
    entries: Vec<Entry>,
    automaton: AhoCorasick,
    /// Pattern id → entry index.
    owner: Vec<usize>,
    utf16_always: bool,
}

impl std::fmt::Debug for Scanner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scanner")
            .field(
                "secrets",
                &self.entries.iter().map(|e| &e.name).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

/// A match: which secret, and the original byte range to replace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hit {
    pub secret: usize,
    pub start: usize,
    pub end: usize,
}

impl Scanner {
    /// A scanner for `(name, value)` pairs; `None` if there is nothing to
    /// look for. Empty values are ignored.
    pub fn new<'a>(secrets: impl IntoIterator<Item = (&'a str, &'a [u8])>) -> Option<Self> {
        let mut entries = Vec::new();
        let mut patterns: Vec<Zeroizing<Vec<u8>>> = Vec::new();
        let mut owner = Vec::new();
        let mut utf16_always = false;
        for (name, value) in secrets {
            if value.is_empty() {
                continue;
            }
            let lower = Zeroizing::new(value.to_ascii_lowercase());
            let run = partial_run(lower.len());
            for window in lower.windows(run) {
                patterns.push(Zeroizing::new(window.to_vec()));
                owner.push(entries.len());
            }
            utf16_always |= !value.is_ascii();
            entries.push(Entry {
                name: name.to_string(),
                lower,
            });
        }
        if entries.is_empty() {
            return None;
        }
        let automaton = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .build(patterns.iter().map(|p| p.as_slice()))
            .expect("bounded literal patterns always build");
        Some(Scanner {
            entries,
            automaton,
            owner,
            utf16_always,
        })
    }

    /// Names, in the order secrets were given ([`Hit::secret`] indexes it).
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|e| e.name.as_str())
    }

    /// Every match in `data` and in each decoded view of it, as original
    /// byte ranges.
    pub fn hits(&self, data: &[u8]) -> Vec<Hit> {
        let mut hits = Vec::new();
        let root = View::root(data.to_vec());
        let mut layer = vec![root];
        for depth in 0..=DEPTH {
            let mut next = Vec::new();
            for view in &layer {
                self.match_view(view, &mut hits);
                if depth < DEPTH && (depth == 0 || view.is_textual()) {
                    next.extend(self.decode(view));
                }
            }
            layer = next;
        }
        hits
    }

    fn decode(&self, view: &View) -> Vec<View> {
        let mut out: Vec<View> = [
            views::json,
            views::html,
            views::percent,
            views::quoted_printable,
            views::base64,
            views::hex,
        ]
        .iter()
        .filter_map(|f| f(view))
        .collect();
        if self.utf16_always || view.bytes.contains(&0) {
            out.extend(views::utf16(view));
        }
        out
    }

    fn match_view(&self, view: &View, hits: &mut Vec<Hit>) {
        for m in self.automaton.find_overlapping_iter(&view.bytes) {
            let (start, end) = view.original(m.start(), m.end());
            hits.push(Hit {
                secret: self.owner[m.pattern().as_usize()],
                start,
                end,
            });
        }
    }

    /// Which secrets appear in `data`, in any form.
    pub fn found_in(&self, data: &[u8]) -> Vec<usize> {
        let mut found: Vec<usize> = self.hits(data).into_iter().map(|h| h.secret).collect();
        found.sort_unstable();
        found.dedup();
        found
    }

    /// Replace every form of every secret in `data` with
    /// `[REDACTED:NAME]`. Rescans until nothing is found; if a pathological
    /// input still matches after a few passes, all of it is replaced.
    pub fn redact(&self, data: &mut Vec<u8>) -> Vec<Found> {
        let mut counts = vec![0usize; self.entries.len()];
        let mut clean = false;
        for _ in 0..4 {
            let hits = self.hits(data);
            if hits.is_empty() {
                clean = true;
                break;
            }
            *data = self.replace(data, hits, &mut counts);
        }
        if !clean && let Some(h) = self.hits(data).first() {
            counts[h.secret] += 1;
            *data = self.marker(h.secret).into_bytes();
        }
        self.entries
            .iter()
            .zip(counts)
            .filter(|(_, n)| *n > 0)
            .map(|(e, count)| Found {
                name: e.name.clone(),
                count,
            })
            .collect()
    }

    fn marker(&self, secret: usize) -> String {
        format!("[REDACTED:{}]", self.entries[secret].name)
    }

    fn replace(&self, data: &[u8], mut hits: Vec<Hit>, counts: &mut [usize]) -> Vec<u8> {
        hits.sort_by_key(|h| (h.start, h.end));
        let mut out = Vec::with_capacity(data.len());
        let mut at = 0;
        let mut i = 0;
        while i < hits.len() {
            let first = hits[i];
            let mut end = first.end;
            i += 1;
            while i < hits.len() && hits[i].start <= end {
                end = end.max(hits[i].end);
                i += 1;
            }
            out.extend_from_slice(&data[at..first.start.max(at)]);
            out.extend_from_slice(self.marker(first.secret).as_bytes());
            counts[first.secret] += 1;
            at = end.max(at);
        }
        out.extend_from_slice(&data[at.min(data.len())..]);
        out
    }

    /// [`redact`](Self::redact) for text. A replacement never splits a
    /// UTF-8 character it did not cover; anything left invalid is replaced
    /// with U+FFFD.
    pub fn redact_text(&self, text: &mut String) -> Vec<Found> {
        let mut bytes = std::mem::take(text).into_bytes();
        let found = self.redact(&mut bytes);
        *text = match String::from_utf8(bytes) {
            Ok(s) => s,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        };
        found
    }

    /// Redact, then cut to at most `max` bytes on a character boundary, and
    /// drop any tail that is a prefix of a secret of [`CUT_PREFIX`] bytes or
    /// more. Redacting first means a secret straddling the cap loses all of
    /// itself, not only its last characters.
    pub fn redact_and_cut(&self, text: &str, max: usize) -> (String, Vec<Found>) {
        let mut t = text.to_string();
        let found = self.redact_text(&mut t);
        let whole = t.len();
        t.truncate(cut_len(&t, max));
        if t.len() < whole {
            self.trim_prefix(&mut t);
        }
        (t, found)
    }

    /// Drop a tail that begins some secret.
    pub fn trim_prefix(&self, text: &mut String) {
        loop {
            let before = text.len();
            for e in &self.entries {
                let longest = e.lower.len().min(text.len());
                for m in (CUT_PREFIX..=longest).rev() {
                    let start = text.len() - m;
                    if text.is_char_boundary(start)
                        && text.as_bytes()[start..].eq_ignore_ascii_case(&e.lower[..m])
                    {
                        text.truncate(start);
                        break;
                    }
                }
            }
            if text.len() == before {
                return;
            }
        }
    }
}

/// The longest prefix of `s` of at most `max` bytes that ends on a
/// character boundary.
pub fn cut(s: &str, max: usize) -> &str {
    &s[..cut_len(s, max)]
}

fn cut_len(s: &str, max: usize) -> usize {
    if s.len() <= max {
        return s.len();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    end
}

#[cfg(test)]
mod tests;
