//! Word statistics over a text: a JSON-transforming skill.
use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use skillhost_sdk::{JsonSchema, Manifest, Skill, SkillError, debug};

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct Input {
    /// The text to analyse.
    text: String,
    /// How many of the most frequent words to return (default 3, at most 50).
    #[serde(default)]
    top: Option<usize>,
}

#[derive(Serialize, JsonSchema)]
struct WordCount {
    word: String,
    count: usize,
}

#[derive(Serialize, JsonSchema)]
struct Output {
    words: usize,
    unique_words: usize,
    characters: usize,
    lines: usize,
    /// Most frequent words, most frequent first; ties in alphabetical order.
    top_words: Vec<WordCount>,
}

struct WordStats;

impl Skill for WordStats {
    type Input = Input;
    type Output = Output;
    const MANIFEST: Manifest = Manifest::new(
        "word-stats",
        env!("CARGO_PKG_VERSION"),
        "Counts words, unique words, characters and lines in a text and lists the most frequent words.",
    );

    fn invoke(input: Input) -> Result<Output, SkillError> {
        let top = input.top.unwrap_or(3);
        if top > 50 {
            return Err(SkillError::new("top_too_large", "`top` must be at most 50"));
        }
        let mut counts: HashMap<String, usize> = HashMap::new();
        let mut words = 0;
        for word in input
            .text
            .split(|c: char| !c.is_alphanumeric() && c != '\'')
        {
            if word.is_empty() {
                continue;
            }
            words += 1;
            *counts.entry(word.to_lowercase()).or_default() += 1;
        }
        let mut ranked: Vec<(String, usize)> =
            counts.iter().map(|(w, c)| (w.clone(), *c)).collect();
        ranked.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        debug!("{words} words, {} unique", counts.len());
        Ok(Output {
            words,
            unique_words: counts.len(),
            characters: input.text.chars().count(),
            lines: input.text.lines().count(),
            top_words: ranked
                .into_iter()
                .take(top)
                .map(|(word, count)| WordCount { word, count })
                .collect(),
        })
    }
}

skillhost_sdk::export_skill!(WordStats);
