//! The parts of skillhost's policy that are pure functions over bytes, kept
//! in their own small crate so they can be read in one sitting and fuzzed
//! without building the runtime:
//!
//! - [`scan`]: finding a granted secret in anything that crosses the
//!   sandbox boundary, in every reflected form;
//! - [`canon`]: a skill's output as the caller will read it;
//! - [`placeholder`]: the `{{secret:NAME}}` grammar;
//! - [`destination`]: the `scheme://host[:port]` grammar of grants;
//! - [`request`]: what a skill may put in a request's method and headers;
//! - [`rule`]: request rules (`GET,POST https://host/v1/`), the one path
//!   normalisation, and prefix matching at segment boundaries;
//! - [`grant`]: a set of rules as a grant, and which refusal a request gets;
//! - [`draft`]: the smallest grant that allows what a trial run tried.
//!
//! Nothing here does I/O or holds state between calls.

#![forbid(unsafe_code)]

pub mod canon;
pub mod destination;
pub mod draft;
pub mod grant;
pub mod placeholder;
pub mod request;
pub mod rule;
pub mod scan;
