//! Property: the destination parser never panics; what it accepts is shown
//! in ASCII (punycode), parses back to itself, and matches the host and
//! port a request URL to it would be checked against.
#![no_main]

use libfuzzer_sys::fuzz_target;
use skillhost_policy::destination::{Destination, host_of, scheme_of};

fuzz_target!(|data: &[u8]| {
    let Ok(raw) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(url) = url::Url::parse(raw) {
        let _ = (scheme_of(&url), host_of(&url));
    }
    let Ok(d) = Destination::parse(raw) else {
        return;
    };
    let shown = d.to_string();
    assert!(shown.is_ascii(), "{raw:?} shown as {shown:?}");
    assert_eq!(
        Destination::parse(&shown).as_ref(),
        Ok(&d),
        "{raw:?} -> {shown:?}"
    );
    let url = url::Url::parse(&format!("{shown}/x")).unwrap();
    assert_eq!(host_of(&url).as_ref(), Some(&d.host), "{shown}");
    assert_eq!(url.port_or_known_default(), Some(d.port));
});
