//! End-to-end tests: real skills from `skills-examples/`, built for
//! wasm32-wasip2, run through the real host library and the real CLI binary.
//!
//! Build the skills first (the README's test command does):
//! `cargo build --release --target wasm32-wasip2 --manifest-path skills-examples/Cargo.toml`

mod common;

mod abuse;
mod adversarial;
mod api;
mod api_robustness;
mod bad_modules;
mod budgets;
mod cache;
mod checker;
mod cli;
mod clocks;
mod crash_decisions;
mod dns;
mod docs;
mod egress;
mod guest_voice;
mod library;
mod many;
mod mcp;
mod owner_cli;
mod polyglot;
mod registry;
mod rules;
mod scoped_secrets;
mod secret_leaks;
mod secrets;
mod serve;
mod servers;
mod skills;
mod structure;
mod tokens;
mod trial;
