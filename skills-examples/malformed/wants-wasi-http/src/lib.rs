//! A real SDK skill that also imports `wasi:http/types`, as a component
//! built with componentize-js's default features does. skillhost never
//! links wasi:http (outbound HTTP goes through its own `http-fetch`), so
//! the host must refuse this component before compiling it, naming the
//! import (tests/e2e/guest_voice.rs, host/benches/refuse_unlinkable.rs).
use serde_json::{Value, json};
use skillhost_sdk::{Manifest, Skill, SkillError};

struct WantsWasiHttp;

impl Skill for WantsWasiHttp {
    type Input = Value;
    type Output = Value;
    const MANIFEST: Manifest = Manifest::new(
        "wants-wasi-http",
        env!("CARGO_PKG_VERSION"),
        "Builds a wasi:http header map (a malformed test skill: the host never links wasi:http).",
    );

    fn invoke(_input: Value) -> Result<Value, SkillError> {
        // `[constructor]fields` and `[method]fields.entries` from
        // wasi:http/types: real calls, so the import stays in the component.
        let fields = wasip2::http::types::Fields::new();
        Ok(json!({ "headers": fields.entries().len() }))
    }
}

skillhost_sdk::export_skill!(WantsWasiHttp);
