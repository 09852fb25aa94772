//! Property: the placeholder parser never panics; whatever it accepts,
//! substitution replaces completely (no placeholder of an accepted name is
//! left) and never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use skillhost_policy::placeholder::{names_in, placeholder, substitute, valid_name};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(names) = names_in(text) {
        for n in &names {
            assert!(valid_name(n));
        }
        let out = substitute(text, |_| "VALUE".into());
        for n in &names {
            assert!(!out.contains(&placeholder(n)), "{text:?} -> {out:?}");
        }
    }
});
