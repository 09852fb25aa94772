//! Property: the rule parser and the path normaliser never panic; a rule
//! accepted is shown in ASCII and parses back to itself; a normalised path
//! normalises to itself; and a path is allowed under a rule's prefix only
//! if it starts with that prefix; every destination is the bare-origin
//! rule shown the same way. Input: a rule, then `\n`, then a path.
#![no_main]

use libfuzzer_sys::fuzz_target;
use skillhost_policy::destination::Destination;
use skillhost_policy::rule::{Rule, normalize_path};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (rule_text, path) = text.split_once('\n').unwrap_or((text, text));
    for raw in [text, path] {
        if let Ok(n) = normalize_path(raw) {
            assert!(n.is_ascii() && n.starts_with('/'), "{raw:?} -> {n:?}");
            assert_eq!(normalize_path(&n).as_ref(), Ok(&n), "{raw:?}");
        }
    }
    // Every destination is a bare-origin rule shown exactly as a
    // destination is shown: grants and the secrets' associated data written
    // as destinations keep their meaning. (Texts only an earlier, looser
    // destination parser accepted are read by Rule::parse_stored.)
    if let Ok(d) = Destination::parse(rule_text) {
        let r = Rule::parse(rule_text).expect("a destination is a rule");
        assert_eq!(Rule::parse_stored(rule_text).as_ref(), Ok(&r), "{rule_text:?}");
        assert_eq!((r.methods.as_ref(), r.prefix.as_ref()), (None, None), "{rule_text:?}");
        assert_eq!(r.to_string(), d.to_string(), "{rule_text:?}");
    }
    // A stored text that does not parse strictly reads, if at all, as a
    // bare origin.
    if Rule::parse(rule_text).is_err()
        && let Ok(r) = Rule::parse_stored(rule_text)
    {
        assert_eq!((r.methods.as_ref(), r.prefix.as_ref()), (None, None), "{rule_text:?}");
    }
    let Ok(rule) = Rule::parse(rule_text) else {
        return;
    };
    let shown = rule.to_string();
    assert!(shown.is_ascii(), "{rule_text:?} shown as {shown:?}");
    assert_eq!(Rule::parse(&shown).as_ref(), Ok(&rule), "{rule_text:?} -> {shown:?}");
    if let Some(prefix) = &rule.prefix {
        assert_eq!(normalize_path(prefix).as_ref(), Ok(prefix), "{shown}");
    }
    if let Ok(n) = normalize_path(path)
        && rule.allows_path(&n)
    {
        let prefix = rule.prefix.as_deref().unwrap_or("/");
        assert!(n.starts_with(prefix), "{n:?} allowed under {shown}");
    }
    // A request to the rule's own origin with that path: never a panic, and
    // whatever a prefix rule allows was normalised under the prefix (a
    // bare origin allows every path, normalisable or not).
    if let Ok(url) = url::Url::parse(&format!("{}{}", rule.origin, path))
        && rule.check("GET", &url).is_ok()
        && rule.prefix.is_some()
    {
        let n = normalize_path(url.path()).expect("checked path normalises");
        assert!(rule.allows_path(&n));
    }
});
