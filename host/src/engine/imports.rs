//! A cheap look at what a component imports, before anything is compiled.
//!
//! Compiling an interpreter component (CPython, SpiderMonkey) takes seconds
//! and hundreds of megabytes. A component that imports something this host
//! never provides would be refused by the linker anyway, after all that
//! work. Reading the top-level import names from the binary's sections
//! costs milliseconds, so such a component is refused first, naming the
//! import. The linker stays the authority: a component that passes here is
//! still checked by `instantiate_pre` after compiling.

use wasmparser::{Parser, Payload};

/// Packages the host links (WASI p2 locked down, and the skill contract).
/// Anything else can never link.
pub const PROVIDED_PACKAGES: &[&str] = &[
    "wasi:cli",
    "wasi:clocks",
    "wasi:filesystem",
    "wasi:io",
    "wasi:random",
    "wasi:sockets",
    "skillhost:skill",
];

/// Why an import can never be satisfied, with the fix where one is known.
pub fn unsupported(bytes: &[u8]) -> Result<(), String> {
    let mut depth = 0usize;
    for payload in Parser::new(0).parse_all(bytes) {
        // A malformed binary is left to the full validation, which says why.
        let Ok(payload) = payload else { return Ok(()) };
        match payload {
            Payload::ModuleSection { .. } | Payload::ComponentSection { .. } => depth += 1,
            Payload::End(_) => depth = depth.saturating_sub(1),
            Payload::ComponentImportSection(reader) if depth == 0 => {
                for import in reader {
                    let Ok(import) = import else { return Ok(()) };
                    let name = import.name.0;
                    if !provided(name) {
                        return Err(refusal(name));
                    }
                }
            }
            _ => {}
        }
    }
    Ok(())
}

fn provided(name: &str) -> bool {
    let package = name.split('/').next().unwrap_or(name);
    PROVIDED_PACKAGES.contains(&package)
}

fn refusal(name: &str) -> String {
    let name: String = name.chars().take(120).collect();
    let hint = if name.starts_with("wasi:http") {
        "; with componentize-js, build with `-d http fetch-event` (disable the http and fetch-event features); outbound HTTP goes through skillhost's own `http-fetch` import"
    } else {
        ""
    };
    format!(
        "the component imports `{}`, which this host never provides (it links {}){hint}",
        name.escape_debug(),
        PROVIDED_PACKAGES.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_matched_by_package() {
        assert!(provided("wasi:cli/environment@0.2.6"));
        assert!(provided("skillhost:skill/host@0.1.0"));
        assert!(!provided("wasi:http/types@0.2.10"));
        assert!(!provided("wasi:cli-extra/x"));
        assert!(!provided("evil:pkg/iface"));
        assert!(refusal("wasi:http/types@0.2.10").contains("-d http fetch-event"));
    }

    #[test]
    fn core_modules_and_garbage_pass_through_to_validation() {
        assert!(unsupported(b"\0asm\x01\0\0\0").is_ok());
        assert!(unsupported(b"not wasm").is_ok());
    }
}
