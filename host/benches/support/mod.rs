//! What the benchmarks share: the example skills' paths, padded
//! components, criterion's medians and the process's peak RSS.
#![allow(dead_code)] // each bench uses a part

use std::path::{Path, PathBuf};

/// A built example skill, e.g. `skill_file("echo")`.
pub fn skill_file(stem: &str) -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../skills-examples/target/wasm32-wasip2/release")
        .join(format!("{stem}.wasm"));
    assert!(
        p.is_file(),
        "{} is missing: build the example skills first: cargo build --release --target wasm32-wasip2 --manifest-path skills-examples/Cargo.toml",
        p.display()
    );
    p
}

fn leb128(mut n: usize, out: &mut Vec<u8>) {
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// `bytes` with a custom section (id 0, LEB128 size, name, payload) of
/// `size` payload bytes appended: still a valid component, with the same
/// code, `size` bytes bigger (as a large interpreter component would be).
pub fn padded(bytes: &[u8], size: usize) -> Vec<u8> {
    let name = b"skillhost-bench-padding";
    let mut section = Vec::with_capacity(size + name.len() + 8);
    leb128(name.len(), &mut section);
    section.extend_from_slice(name);
    section.resize(section.len() + size, 0x5a);
    let mut out = Vec::with_capacity(bytes.len() + section.len() + 8);
    out.extend_from_slice(bytes);
    out.push(0);
    leb128(section.len(), &mut out);
    out.extend_from_slice(&section);
    out
}

/// Criterion's median for `group/bench`, in nanoseconds.
pub fn median_ns(dir: &Path, group: &str, bench: &str) -> Option<f64> {
    let path = dir.join(group).join(bench).join("new/estimates.json");
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
    v["median"]["point_estimate"].as_f64()
}

/// Peak resident set size of this process so far, in KiB (Linux).
pub fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
