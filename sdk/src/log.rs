//! Logging to the host. Use the macros [`trace!`](crate::trace),
//! [`debug!`](crate::debug), [`info!`](crate::info), [`warn!`](crate::warn) and
//! [`error!`](crate::error).

use crate::__bindings::skillhost::skill::host;
pub use crate::__bindings::skillhost::skill::types::LogLevel as Level;

/// Send one log record to the host. The host caps record count and size.
pub fn write(level: Level, message: &str) {
    host::log(level, message);
}

/// Report panics to the host as an `error` record before the instance traps.
pub(crate) fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        write(Level::Error, &format!("panic: {info}"));
    }));
}

/// Log at `trace` level, `format!`-style.
#[macro_export]
macro_rules! trace { ($($arg:tt)*) => { $crate::log::write($crate::log::Level::Trace, &::std::format!($($arg)*)) }; }
/// Log at `debug` level, `format!`-style.
#[macro_export]
macro_rules! debug { ($($arg:tt)*) => { $crate::log::write($crate::log::Level::Debug, &::std::format!($($arg)*)) }; }
/// Log at `info` level, `format!`-style.
#[macro_export]
macro_rules! info { ($($arg:tt)*) => { $crate::log::write($crate::log::Level::Info, &::std::format!($($arg)*)) }; }
/// Log at `warn` level, `format!`-style.
#[macro_export]
macro_rules! warn { ($($arg:tt)*) => { $crate::log::write($crate::log::Level::Warn, &::std::format!($($arg)*)) }; }
/// Log at `error` level, `format!`-style.
#[macro_export]
macro_rules! error { ($($arg:tt)*) => { $crate::log::write($crate::log::Level::Error, &::std::format!($($arg)*)) }; }
