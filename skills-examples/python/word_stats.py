"""Word statistics over a text: the Python twin of the Rust `word-stats`
example, with the same input, output and errors."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Optional

from skillhost_sdk import SkillError, skill

log = logging.getLogger(__name__)


@dataclass
class Input:
    """The text to analyse, and how many of the most frequent words to
    return (default 3, at most 50)."""

    text: str
    top: Optional[int] = None


@dataclass
class WordCount:
    word: str
    count: int


@dataclass
class Output:
    words: int
    unique_words: int
    characters: int
    lines: int
    #: Most frequent words, most frequent first; ties in alphabetical order.
    top_words: list[WordCount]


def _words(text: str) -> list[str]:
    out, current = [], []
    for c in text:
        if c.isalnum() or c == "'":
            current.append(c)
        elif current:
            out.append("".join(current))
            current = []
    if current:
        out.append("".join(current))
    return out


def _lines(text: str) -> int:
    # As Rust's `str::lines`: split on '\n', no line after a final '\n'.
    if not text:
        return 0
    return text.count("\n") + (0 if text.endswith("\n") else 1)


@skill(
    name="py-word-stats",
    version="0.1.0",
    description="Counts words, unique words, characters and lines in a text and lists the most frequent words.",
)
def invoke(input: Input) -> Output:
    top = 3 if input.top is None else input.top
    if top < 0:
        raise SkillError("top_negative", "`top` must be at least 0")
    if top > 50:
        raise SkillError("top_too_large", "`top` must be at most 50")
    words = _words(input.text)
    counts: dict[str, int] = {}
    for w in words:
        counts[w.lower()] = counts.get(w.lower(), 0) + 1
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    log.debug("%d words, %d unique", len(words), len(counts))
    return Output(
        words=len(words),
        unique_words=len(counts),
        characters=len(input.text),
        lines=_lines(input.text),
        top_words=[WordCount(word=w, count=c) for w, c in ranked[:top]],
    )
