//! Request hygiene: the rules live in [`skillhost_policy::request`], one
//! implementation, fuzzed on its own.

pub use skillhost_policy::request::*;
