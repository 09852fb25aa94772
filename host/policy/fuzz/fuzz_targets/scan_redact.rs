//! Property: redacting any text that contains a secret in any supported
//! form leaves no form of it, and redacting arbitrary bytes never panics
//! and leaves nothing the scanner would still find.
#![no_main]

use libfuzzer_sys::fuzz_target;
use skillhost_policy::scan::Scanner;

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn base64(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for c in data.chunks(3) {
        let v = u32::from(c[0]) << 16
            | u32::from(*c.get(1).unwrap_or(&0)) << 8
            | u32::from(*c.get(2).unwrap_or(&0));
        for k in 0..=c.len() {
            out.push(B64[(v >> (18 - 6 * k) & 63) as usize]);
        }
    }
    out
}

/// The secret in one of the forms the scanner promises to find.
fn encode(form: u8, s: &[u8], wrap: usize) -> Vec<u8> {
    let text = String::from_utf8_lossy(s);
    match form % 10 {
        0 => s.to_vec(),
        1 => s.to_ascii_uppercase(),
        2 => {
            let b = base64(s);
            let w = 4 + wrap % 80;
            b.chunks(w).collect::<Vec<_>>().join(&b"\r\n"[..])
        }
        3 => s
            .iter()
            .map(|b| format!("{b:02x}:"))
            .collect::<String>()
            .into_bytes(),
        4 => s
            .iter()
            .map(|b| format!("%{b:02X}"))
            .collect::<String>()
            .into_bytes(),
        5 => text
            .chars()
            .map(|c| format!("\\u{:04x}", c as u32))
            .collect::<String>()
            .into_bytes(),
        6 => text
            .chars()
            .map(|c| format!("&#{};", c as u32))
            .collect::<String>()
            .into_bytes(),
        7 => text.encode_utf16().flat_map(u16::to_le_bytes).collect(),
        8 => serde_json::to_string(&text).unwrap().into_bytes(),
        _ => {
            let mut out = Vec::new();
            for (i, b) in s.iter().enumerate() {
                out.extend(format!("={b:02X}").bytes());
                if i % 5 == 4 {
                    out.extend(b"=\r\n");
                }
            }
            out
        }
    }
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 12 {
        return;
    }
    let (form, wrap) = (data[0], data[1] as usize);
    let len = 8 + data[2] as usize % 40;
    let rest = &data[3..];
    // The vault's rules: no control characters, valid UTF-8.
    let secret: Vec<u8> = rest.iter().take(len).map(|b| 0x21 + b % 0x5e).collect();
    if secret.len() < 8 {
        return;
    }
    let text = &rest[secret.len().min(rest.len())..];
    let scanner = Scanner::new([("S", secret.as_slice())]).unwrap();

    // Arbitrary bytes: never panics, and nothing is left to find.
    let mut plain = text.to_vec();
    scanner.redact(&mut plain);
    assert!(scanner.hits(&plain).is_empty());

    // The secret in a supported form, inside arbitrary text.
    let cut = text.len() / 2;
    let mut embedded = [
        &text[..cut],
        b" ",
        &encode(form, &secret, wrap),
        b" ",
        &text[cut..],
    ]
    .concat();
    assert!(
        !scanner.hits(&embedded).is_empty(),
        "form {} not found",
        form % 10
    );
    scanner.redact(&mut embedded);
    assert!(scanner.hits(&embedded).is_empty());
    let run = skillhost_policy::scan::partial_run(secret.len());
    let lower = secret.to_ascii_lowercase();
    assert!(
        !embedded
            .to_ascii_lowercase()
            .windows(run)
            .any(|w| lower.windows(run).any(|s| s == w)),
        "a raw run of the secret survived"
    );
});
