//! Property: the canonical form of any output the host accepts is JSON,
//! holds no form of the secret, and canonicalising it again changes nothing.
#![no_main]

use libfuzzer_sys::fuzz_target;
use skillhost_policy::canon::canonical_json;
use skillhost_policy::scan::Scanner;

const SECRET: &[u8] = b"sk-fuzz-7Qx2Lm9Pw4Rt";

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let scanner = Scanner::new([("S", SECRET)]).unwrap();
    // Also with the secret spliced in, so the redacting paths run.
    let spliced = text.replacen("@@", std::str::from_utf8(SECRET).unwrap(), 4);
    for input in [text, spliced.as_str()] {
        if let Ok((canon, _)) = canonical_json(&scanner, input) {
            let value: serde_json::Value =
                serde_json::from_str(&canon).expect("canonical output is JSON");
            assert!(scanner.hits(canon.as_bytes()).is_empty(), "{canon}");
            assert_eq!(
                serde_json::to_string(&value).unwrap(),
                canon,
                "not canonical"
            );
            let (again, found) = canonical_json(&scanner, &canon).unwrap();
            assert_eq!(again, canon);
            assert!(found.is_empty());
        }
    }
});
