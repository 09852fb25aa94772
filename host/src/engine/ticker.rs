//! The epoch ticker: advances the engine's epoch so running skills hit their
//! wall-clock deadline. It holds only a weak reference, so dropping the last
//! engine handle ends the thread instead of keeping the engine alive forever.

use std::thread::JoinHandle;
use std::time::Duration;

use wasmtime::Engine;

/// A running ticker thread.
#[derive(Debug)]
pub struct EpochTicker {
    #[cfg_attr(not(test), allow(dead_code))] // joined by the ticker's test
    handle: Option<JoinHandle<()>>,
}

impl EpochTicker {
    /// Start ticking `engine` every `tick`.
    pub fn spawn(engine: &Engine, tick: Duration) -> std::io::Result<Self> {
        let weak = engine.weak();
        let handle = std::thread::Builder::new()
            .name("skillhost-epoch".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(tick);
                    match weak.upgrade() {
                        Some(engine) => engine.increment_epoch(),
                        None => return,
                    }
                }
            })?;
        Ok(EpochTicker {
            handle: Some(handle),
        })
    }

    /// Wait for the thread to end (it ends within one tick of the engine
    /// being dropped).
    #[cfg(test)]
    pub fn join(mut self) {
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticker_does_not_keep_the_engine_alive() {
        let mut config = wasmtime::Config::new();
        config.epoch_interruption(true);
        let engine = Engine::new(&config).unwrap();
        let ticker = EpochTicker::spawn(&engine, Duration::from_millis(1)).unwrap();
        std::thread::sleep(Duration::from_millis(5));
        drop(engine);
        // Returns only if the thread saw the engine go away.
        ticker.join();
    }
}
