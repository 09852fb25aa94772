//! MCP Streamable HTTP sessions: who opened each one, how many there are,
//! and when they end.
//!
//! - A session belongs to the token that opened it. A request naming a
//!   session must come with that same token; for any other token the
//!   session does not exist (404 `mcp.session_unknown`), so an id that
//!   leaks is no use to another caller.
//! - Sessions are capped per token (`server.mcp_sessions_per_token`) and in
//!   all (`server.mcp_sessions_total`); an `initialize` past either cap is
//!   refused with 429 `mcp.session_limit` and nothing is created.
//! - A session ends when its client deletes it, when it has been idle for
//!   `server.mcp_session_idle_ms`, or when its token is revoked or expires
//!   — then its event streams end too, so a revoked caller stops receiving
//!   change notifications within [`SWEEP`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rmcp::transport::streamable_http_server::SessionManager as _;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;

/// How often open sessions are checked for idleness and dead tokens.
pub const SWEEP: Duration = Duration::from_secs(1);

/// Why a new session was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// This token has `.0` sessions open (or opening) already.
    PerToken(usize),
    /// The host has `.0` sessions open (or opening) already.
    Total(usize),
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::PerToken(n) => write!(
                f,
                "this token has its maximum of {n} MCP sessions open; end one (HTTP DELETE) or wait for one to expire"
            ),
            Refusal::Total(n) => write!(
                f,
                "the host has its maximum of {n} MCP sessions open; try again later"
            ),
        }
    }
}

struct Open {
    token: String,
    last_used: Instant,
}

#[derive(Default)]
struct State {
    open: HashMap<String, Open>,
    /// `initialize` requests in flight, per token: they count against the
    /// caps until they either open a session or fail.
    opening: HashMap<String, usize>,
}

impl State {
    fn count_for(&self, token: &str) -> usize {
        self.open.values().filter(|o| o.token == token).count()
            + self.opening.get(token).copied().unwrap_or(0)
    }

    fn total(&self) -> usize {
        self.open.len() + self.opening.values().sum::<usize>()
    }
}

/// The session table in front of rmcp's session manager.
pub struct Sessions {
    manager: Arc<LocalSessionManager>,
    per_token: usize,
    total: usize,
    idle: Duration,
    state: Mutex<State>,
}

impl Sessions {
    pub fn new(
        manager: Arc<LocalSessionManager>,
        per_token: usize,
        total: usize,
        idle: Duration,
    ) -> Self {
        Sessions {
            manager,
            per_token,
            total,
            idle,
            state: Mutex::default(),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Hold a place for a new session of `token`, or refuse.
    pub fn reserve(self: &Arc<Self>, token: &str) -> Result<Reservation, Refusal> {
        let mut state = self.state();
        if state.count_for(token) >= self.per_token {
            return Err(Refusal::PerToken(self.per_token));
        }
        if state.total() >= self.total {
            return Err(Refusal::Total(self.total));
        }
        *state.opening.entry(token.to_string()).or_default() += 1;
        Ok(Reservation {
            sessions: self.clone(),
            token: token.to_string(),
        })
    }

    /// Whether session `id` is open and belongs to `token`; if so, it was
    /// just used.
    pub fn touch(&self, id: &str, token: &str) -> bool {
        match self.state().open.get_mut(id) {
            Some(open) if open.token == token => {
                open.last_used = Instant::now();
                true
            }
            _ => false,
        }
    }

    /// Forget session `id` (its client deleted it).
    /// How many sessions are open now.
    #[cfg(test)]
    pub fn open_count(&self) -> usize {
        self.state().open.len()
    }

    pub fn forget(&self, id: &str) {
        self.state().open.remove(id);
    }

    /// End every session that has been idle too long or whose token is no
    /// longer live (`live(token_id)` is `Some(false)`; `None` means "cannot
    /// tell now", and the session is kept until the next sweep).
    pub async fn sweep(&self, live: impl Fn(&str) -> Option<bool>) -> usize {
        let now = Instant::now();
        let ending: Vec<String> = {
            let mut state = self.state();
            let mut verdicts: HashMap<String, bool> = HashMap::new();
            let mut ending = Vec::new();
            for (id, open) in &state.open {
                let alive = *verdicts
                    .entry(open.token.clone())
                    .or_insert_with(|| live(&open.token) != Some(false));
                if !alive || now.duration_since(open.last_used) >= self.idle {
                    ending.push(id.clone());
                }
            }
            for id in &ending {
                state.open.remove(id);
            }
            ending
        };
        for id in &ending {
            // Closing ends the session's worker, and with it every event
            // stream it serves.
            if let Err(e) = self.manager.close_session(&id.as_str().into()).await {
                tracing::warn!("cannot close MCP session: {e}");
            }
        }
        ending.len()
    }

    /// End every session (shutdown).
    pub async fn close_all(&self) {
        let ids: Vec<String> = self.state().open.drain().map(|(id, _)| id).collect();
        for id in ids {
            let _ = self.manager.close_session(&id.as_str().into()).await;
        }
    }
}

/// A place held for a session being opened. [`opened`](Self::opened)
/// records the session; dropping it without that gives the place back.
pub struct Reservation {
    sessions: Arc<Sessions>,
    token: String,
}

impl Reservation {
    /// The `initialize` succeeded and opened session `id`.
    pub fn opened(self, id: &str) {
        self.sessions.state().open.insert(
            id.to_string(),
            Open {
                token: self.token.clone(),
                last_used: Instant::now(),
            },
        );
        // Drop releases the place in `opening`.
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        let mut state = self.sessions.state();
        if let Some(n) = state.opening.get_mut(&self.token) {
            *n -= 1;
            if *n == 0 {
                state.opening.remove(&self.token);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(per_token: usize, total: usize, idle: Duration) -> Arc<Sessions> {
        Arc::new(Sessions::new(
            Arc::new(LocalSessionManager::default()),
            per_token,
            total,
            idle,
        ))
    }

    #[test]
    fn caps_count_open_and_opening_sessions() {
        let s = table(2, 3, Duration::from_secs(60));
        let a1 = s.reserve("a").unwrap();
        let a2 = s.reserve("a").unwrap();
        assert_eq!(s.reserve("a").err(), Some(Refusal::PerToken(2)));
        a1.opened("s1");
        assert_eq!(s.reserve("a").err(), Some(Refusal::PerToken(2)));
        // A failed initialize gives its place back.
        drop(a2);
        let a3 = s.reserve("a").unwrap();
        let b1 = s.reserve("b").unwrap();
        assert_eq!(s.reserve("c").err(), Some(Refusal::Total(3)));
        a3.opened("s2");
        b1.opened("s3");
        assert_eq!(s.open_count(), 3);
        s.forget("s1");
        assert!(s.reserve("c").is_ok());
    }

    #[test]
    fn a_session_answers_only_to_its_own_token() {
        let s = table(4, 4, Duration::from_secs(60));
        s.reserve("a").unwrap().opened("s1");
        assert!(s.touch("s1", "a"));
        assert!(!s.touch("s1", "b"));
        assert!(!s.touch("nope", "a"));
    }

    #[tokio::test]
    async fn sweeps_end_idle_sessions_and_sessions_of_dead_tokens() {
        let s = table(4, 8, Duration::from_millis(50));
        s.reserve("live").unwrap().opened("s1");
        s.reserve("revoked").unwrap().opened("s2");
        s.reserve("unknowable").unwrap().opened("s3");
        let verdict = |t: &str| match t {
            "live" => Some(true),
            "revoked" => Some(false),
            _ => None,
        };
        assert_eq!(s.sweep(verdict).await, 1);
        assert!(s.touch("s1", "live") && s.touch("s3", "unknowable"));
        assert!(!s.touch("s2", "revoked"));
        tokio::time::sleep(Duration::from_millis(60)).await;
        assert_eq!(s.sweep(verdict).await, 2);
        assert_eq!(s.open_count(), 0);
    }
}
