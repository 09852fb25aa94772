//! The skill contract (`wit/skill.wit`): generated bindings and the check that
//! a component targets a version of the contract this host speaks.

use wasmtime::Engine;
use wasmtime::component::Component;

wasmtime::component::bindgen!({
    path: "../wit",
    world: "skill",
    imports: { default: async },
    exports: { default: async },
});

#[cfg_attr(not(feature = "internal"), allow(unused_imports))] // tests and benches
pub use self::skillhost::skill::types::{
    Header, HttpError, HttpRequest, HttpResponse, LimitRequest, LogLevel, Metadata, Permissions,
    SkillError,
};

/// The WIT package a skill imports and exports.
pub const PACKAGE: &str = "skillhost:skill";
/// The contract version this host implements (the WIT package version).
pub const VERSION: &str = "0.1.0";
/// The interface a skill must export.
pub const GUEST_INTERFACE: &str = "guest";

/// How a component relates to the host's contract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContractCheck {
    /// It exports `skillhost:skill/guest` at a compatible version.
    Compatible,
    /// It names the contract at an incompatible version.
    VersionMismatch { found: String },
    /// It does not export the skill interface at all.
    NotASkill { exports: Vec<String> },
}

/// Inspect a component's imports and exports for the contract version.
///
/// Every `skillhost:skill/*@version` name is checked, so a component that
/// exports the current version but imports a future `host` is refused too.
pub fn check(engine: &Engine, component: &Component) -> ContractCheck {
    let ty = component.component_type();
    let exports: Vec<String> = ty
        .exports(engine)
        .map(|(name, _)| name.to_string())
        .collect();
    let imports: Vec<String> = ty
        .imports(engine)
        .map(|(name, _)| name.to_string())
        .collect();
    for name in exports.iter().chain(imports.iter()) {
        if let Some(version) = contract_version(name)
            && !compatible(version, VERSION)
        {
            return ContractCheck::VersionMismatch {
                found: version.to_string(),
            };
        }
    }
    let guest_prefix = format!("{PACKAGE}/{GUEST_INTERFACE}@");
    if exports.iter().any(|e| e.starts_with(&guest_prefix)) {
        ContractCheck::Compatible
    } else {
        ContractCheck::NotASkill { exports }
    }
}

/// `skillhost:skill/host@0.2.0` → `Some("0.2.0")`.
fn contract_version(name: &str) -> Option<&str> {
    let rest = name.strip_prefix(PACKAGE)?.strip_prefix('/')?;
    let (_, version) = rest.split_once('@')?;
    Some(version)
}

/// Semver compatibility as the component model applies it: same major
/// version when it is not 0; for 0.x, the same minor; for 0.0.x, identical
/// (major, minor and patch). Pre-release and build metadata do not count
/// (`0.1.0-rc1` speaks 0.1). A version that is not semver (`semver` crate)
/// is incompatible.
fn compatible(found: &str, ours: &str) -> bool {
    use semver::Version;
    let (Ok(found), Ok(ours)) = (Version::parse(found), Version::parse(ours)) else {
        return false;
    };
    match (ours.major, ours.minor) {
        (0, 0) => (found.major, found.minor, found.patch) == (0, 0, ours.patch),
        (0, minor) => found.major == 0 && found.minor == minor,
        (major, _) => found.major == major,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_is_the_wit_package_version() {
        let wit = include_str!("../../wit/skill.wit");
        assert!(wit.contains(&format!("package {PACKAGE}@{VERSION};")));
    }

    #[test]
    fn semver_compatibility() {
        assert!(compatible("0.1.0", "0.1.0"));
        assert!(compatible("0.1.7", "0.1.0"));
        assert!(!compatible("0.2.0", "0.1.0"));
        assert!(!compatible("1.1.0", "0.1.0"));
        assert!(compatible("1.4.0", "1.0.0"));
        assert!(!compatible("2.0.0", "1.0.0"));
        assert!(!compatible("0.0.2", "0.0.1"));
        assert!(!compatible("garbage", "0.1.0"));
        assert!(compatible("0.1.0-rc1", "0.1.0"));
        assert!(compatible("0.1.2+build.5", "0.1.0"));
        assert!(compatible("0.0.1-rc1", "0.0.1"));
        assert!(compatible("1.0.0", "1.4.0"));
        assert!(!compatible("0.1.0", "0.0.1"));
        // Not semver: refused, never read loosely.
        for bad in ["", "0.1", "0.1.0.0", "01.1.0", "0.1.x", "v0.1.0", " 0.1.0"] {
            assert!(!compatible(bad, "0.1.0"), "{bad:?}");
        }
        assert!(!compatible("0.1.0", "garbage"));
    }

    #[test]
    fn contract_version_parsing() {
        assert_eq!(
            contract_version("skillhost:skill/guest@0.1.0"),
            Some("0.1.0")
        );
        assert_eq!(
            contract_version("skillhost:skill/host@9.0.0"),
            Some("9.0.0")
        );
        assert_eq!(contract_version("skillhost:skillx/guest@9.0.0"), None);
        assert_eq!(contract_version("wasi:cli/run@0.2.0"), None);
        assert_eq!(contract_version("skillhost:skill/guest"), None);
    }
}
