//! Every stable code the host can emit, with its meaning.
//!
//! Codes are part of the public contract: callers match on them, the audit
//! log records them, and the README's table is checked against [`ALL`] by a
//! test. Add a code here before emitting it anywhere.

/// A stable, machine-readable outcome code such as `limits.timeout`.
pub type Code = &'static str;

pub const INPUT_TOO_LARGE: Code = "limits.input_too_large";
pub const INPUT_INVALID_JSON: Code = "input.invalid_json";
pub const FUEL_EXHAUSTED: Code = "limits.fuel_exhausted";
pub const TIMEOUT: Code = "limits.timeout";
pub const MEMORY: Code = "limits.memory";
pub const OUTPUT_TOO_LARGE: Code = "limits.output_too_large";
pub const OUTPUT_INVALID_JSON: Code = "output.invalid_json";
pub const SKILL_TRAPPED: Code = "skill.trapped";
pub const SKILL_ERROR: Code = "skill.error";
pub const CONTRACT_VERSION_MISMATCH: Code = "contract.version_mismatch";
pub const MODULE_INVALID: Code = "module.invalid";
pub const EGRESS_BAD_URL: Code = "egress.bad_url";
pub const EGRESS_SCHEME_NOT_ALLOWED: Code = "egress.scheme_not_allowed";
pub const EGRESS_HOST_NOT_ALLOWED: Code = "egress.host_not_allowed";
pub const EGRESS_TOO_MANY_REQUESTS: Code = "egress.too_many_requests";
pub const HOST_IO: Code = "host.io";
pub const HOST_CONFIG: Code = "host.config";
pub const HOST_INTERNAL: Code = "host.internal";

/// Every code with a one-line meaning, in the order the README lists them.
pub const ALL: &[(Code, &str)] = &[
    (
        INPUT_TOO_LARGE,
        "The input is larger than the input cap; the skill did not run.",
    ),
    (
        INPUT_INVALID_JSON,
        "The input is not valid JSON; the skill did not run.",
    ),
    (
        FUEL_EXHAUSTED,
        "The skill used all its fuel (CPU budget) and was stopped.",
    ),
    (
        TIMEOUT,
        "The skill ran past its wall-clock deadline and was stopped.",
    ),
    (
        MEMORY,
        "The skill tried to grow its memory (or a table) past the cap and was stopped.",
    ),
    (
        OUTPUT_TOO_LARGE,
        "The skill's output is larger than the output cap; it was discarded.",
    ),
    (
        OUTPUT_INVALID_JSON,
        "The skill returned something that is not JSON; it was discarded.",
    ),
    (
        SKILL_TRAPPED,
        "The skill trapped (panic, unreachable, stack overflow, ...); `trap` names the kind.",
    ),
    (
        SKILL_ERROR,
        "The skill returned its own error; its `skill_code` and message are passed through, size-capped.",
    ),
    (
        CONTRACT_VERSION_MISMATCH,
        "The component targets a contract version this host does not support; both are named.",
    ),
    (
        MODULE_INVALID,
        "The file is not a valid skill component (not wasm, a core module, truncated, wrong world, unknown imports).",
    ),
    (
        EGRESS_BAD_URL,
        "An outbound request's URL could not be parsed; nothing was sent.",
    ),
    (
        EGRESS_SCHEME_NOT_ALLOWED,
        "An outbound request used a scheme other than http(s); nothing was sent.",
    ),
    (
        EGRESS_HOST_NOT_ALLOWED,
        "An outbound request's destination is not granted to this skill; nothing was sent.",
    ),
    (
        EGRESS_TOO_MANY_REQUESTS,
        "The skill made more outbound requests than one invocation allows; nothing was sent.",
    ),
    (
        HOST_IO,
        "The host could not read or write a file it needs (input file, data dir).",
    ),
    (HOST_CONFIG, "The host configuration is invalid."),
    (
        HOST_INTERNAL,
        "An unexpected host failure; the skill's effects, if any, were discarded.",
    ),
];

/// The meaning of a code, if it is one of ours.
pub fn describe(code: &str) -> Option<&'static str> {
    ALL.iter().find(|(c, _)| *c == code).map(|(_, d)| *d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_well_formed() {
        let mut seen = std::collections::HashSet::new();
        for (code, meaning) in ALL {
            assert!(seen.insert(*code), "duplicate code {code}");
            let (area, name) = code.split_once('.').expect("codes are area.name");
            assert!(!area.is_empty() && !name.is_empty(), "{code}");
            assert!(
                code.chars()
                    .all(|c| c.is_ascii_lowercase() || c == '.' || c == '_'),
                "{code} must be lower-case ascii"
            );
            assert!(!meaning.is_empty());
        }
    }
}
