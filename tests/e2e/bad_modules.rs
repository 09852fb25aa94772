//! Files that are not valid skills get a clear error, never a crash.

use skillhost::codes;

use crate::common::*;

fn load_code(bytes: &[u8]) -> (&'static str, String) {
    match engine().load(bytes) {
        Ok(_) => panic!("loaded a bad module"),
        Err(e) => (e.code(), e.to_string()),
    }
}

#[test]
fn non_wasm_files_are_refused() {
    for bytes in [
        &b""[..],
        b"hello",
        b"#!/bin/sh\nrm -rf /\n",
        b"\0as",
        &[0xff; 64],
    ] {
        let (code, msg) = load_code(bytes);
        assert_eq!(code, codes::MODULE_INVALID);
        assert!(msg.contains("not a WebAssembly binary"), "{msg}");
    }
}

#[test]
fn core_modules_are_refused_with_a_hint() {
    // The smallest valid core module.
    let (code, msg) = load_code(b"\0asm\x01\0\0\0");
    assert_eq!(code, codes::MODULE_INVALID);
    assert!(
        msg.contains("core WebAssembly module") && msg.contains("wasm32-wasip2"),
        "{msg}"
    );
}

#[test]
fn truncated_components_are_refused() {
    let bytes = skill_bytes("echo");
    for len in [8, 9, 100, bytes.len() / 2, bytes.len() - 1] {
        let (code, msg) = load_code(&bytes[..len]);
        assert_eq!(code, codes::MODULE_INVALID, "len {len}: {msg}");
    }
}

#[test]
fn a_component_of_another_world_is_refused() {
    let (code, msg) = load_code(&skill_bytes("not-a-skill"));
    assert_eq!(code, codes::MODULE_INVALID);
    assert!(msg.contains("skillhost:skill/guest@0.1.0"), "{msg}");
    assert!(msg.contains("wasi:cli/run"), "{msg}");
}

#[test]
fn another_contract_version_is_refused_naming_both() {
    let err = engine()
        .load(&skill_bytes("future_contract"))
        .err()
        .expect("refused");
    assert_eq!(err.code(), codes::CONTRACT_VERSION_MISMATCH);
    let msg = err.to_string();
    assert!(msg.contains("skillhost:skill@0.2.0"), "{msg}");
    assert!(msg.contains("skillhost:skill@0.1.0"), "{msg}");
    assert_eq!(err.to_json()["found"], "0.2.0");
    assert_eq!(err.to_json()["supported"], "0.1.0");
}
