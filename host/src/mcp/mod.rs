//! The MCP server: approved skills as tools, over stdio (`skillhost mcp`)
//! and Streamable HTTP (`/mcp` on `skillhost serve`), with the official Rust
//! SDK (`rmcp`).
//!
//! - `tools/list` answers the runnable skills the caller may use, with each
//!   skill's input schema as `inputSchema` and its description ([`tools`]:
//!   a non-object input is wrapped as `{"input": …}`; schemas are
//!   published in the portable form of [`schema`]).
//! - `tools/call` is [`Host::invoke`] — the one checker pipeline. A refused
//!   or failed call is a tool error (`isError: true`) whose text and
//!   `_meta["skillhost/error"]` carry the stable `code`; it never has
//!   `structuredContent`.
//! - `notifications/tools/list_changed` is sent when the runnable set
//!   changes (approve, revoke, disable, enable — from any process).
//! - There are no other tools: nothing in MCP can add, approve or grant.
//!
//! Authentication: stdio takes the token from `SKILLHOST_TOKEN` and checks
//! it again on every request, so revoking or expiring it takes effect at
//! once; over HTTP every request carries `Authorization: Bearer skh_…`,
//! checked before the request reaches MCP, and every transport error is a
//! JSON-RPC error with a stable code (the front middleware in `api`). HTTP sessions belong
//! to their token, are capped, and end when the token is revoked
//! ([`sessions`]).

pub mod schema;
pub mod sessions;
pub mod tools;

use std::sync::Arc;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, Extensions, Implementation, ListToolsResult,
    PaginatedRequestParams, ServerCapabilities, ServerConfig,
};
use rmcp::service::{NotificationContext, RequestContext, RoleServer};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::session::local::SessionConfig;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ErrorData as McpError, ServerHandler};
use tokio_util::sync::CancellationToken;
use zeroize::Zeroizing;

use crate::auth::{AuthError, Caller};
use crate::checker::CheckError;
use crate::config::ServerConfig as HttpServerConfig;
use crate::embed::Host;
use crate::skill_host::HostError;
use sessions::Sessions;

/// The environment variable `skillhost mcp` reads its token from.
pub const TOKEN_ENV: &str = "SKILLHOST_TOKEN";

/// How often a session's change watcher checks that the session is alive.
const SESSION_CHECK: std::time::Duration = std::time::Duration::from_secs(30);

/// The Streamable HTTP service mounted at `/mcp`.
pub type HttpService = StreamableHttpService<SkillTools, LocalSessionManager>;

/// How a [`SkillTools`] learns who is calling.
#[derive(Clone)]
enum Identity {
    /// stdio: one token for the whole session, re-checked on every request.
    Token(Arc<Zeroizing<String>>),
    /// HTTP: the [`Caller`] that [`authenticate`] put on this request.
    PerRequest,
}

/// The MCP handler: skills as tools, nothing else.
#[derive(Clone)]
pub struct SkillTools {
    host: Host,
    identity: Identity,
}

impl SkillTools {
    /// For stdio: every request is made as the holder of `token`.
    pub fn with_token(host: Host, token: String) -> Self {
        SkillTools {
            host,
            identity: Identity::Token(Arc::new(Zeroizing::new(token))),
        }
    }

    async fn caller(&self, extensions: &Extensions) -> Result<Caller, HostError> {
        match &self.identity {
            Identity::Token(token) => self.host.authenticate(token).await,
            Identity::PerRequest => extensions
                .get::<axum::http::request::Parts>()
                .and_then(|p| p.extensions.get::<Caller>())
                .cloned()
                // Unreachable behind `authenticate`; refuse rather than guess.
                .ok_or(HostError::Auth(AuthError::Failure { reason: "missing" })),
        }
    }
}

/// A protocol error carrying the stable code (for requests other than a
/// tool call, which has its own error form).
fn protocol_error(e: &HostError) -> McpError {
    McpError::invalid_request(e.to_string(), Some(e.to_json()))
}

impl ServerHandler for SkillTools {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(
            ServerCapabilities::builder()
                .enable_tools()
                .enable_tool_list_changed()
                .build(),
        )
        .with_server_info(Implementation::new("skillhost", env!("CARGO_PKG_VERSION")))
        .with_instructions(
            "Each tool is a sandboxed skill an owner approved. Arguments are the skill's JSON \
             input; a refused or failed call is a tool error with a stable `code`.",
        )
    }

    async fn list_tools(
        &self,
        request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        let caller = self
            .caller(&context.extensions)
            .await
            .map_err(|e| protocol_error(&e))?;
        let skills = self.host.skills(&caller).map_err(|e| protocol_error(&e))?;
        let cursor = request.and_then(|r| r.cursor);
        let page = crate::paging::page(
            skills,
            |s| s.name.as_str(),
            cursor.as_deref(),
            self.host.config().server.page_size as usize,
        )
        .map_err(|e| McpError::invalid_params(e.to_string(), None))?;
        let mut result =
            ListToolsResult::with_all_items(page.items.into_iter().map(tools::tool).collect());
        result.next_cursor = page.next;
        Ok(result)
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let caller = match self.caller(&context.extensions).await {
            Ok(c) => c,
            Err(e) => return Ok(tools::error_result(e.to_json()).into()),
        };
        let arguments = request.arguments.unwrap_or_default();
        // A wrapped tool takes the skill's input as `input`. Its schema is
        // the skill's, so look it up only among what this caller may see;
        // anything else goes to the pipeline, which refuses and audits it.
        let wrapped = self
            .host
            .skills(&caller)
            .ok()
            .and_then(|all| all.into_iter().find(|s| s.name == request.name));
        let input = match wrapped {
            Some(skill) => match tools::input_for(&skill, arguments) {
                Ok(input) => input,
                Err(tools::NotWrapped(why)) => {
                    let e = HostError::Check(CheckError::InputSchema { errors: vec![why] });
                    let e = self
                        .host
                        .core()
                        .refused(&caller.name, &request.name, None, None, e)
                        .await;
                    return Ok(tools::error_result(e.to_json()).into());
                }
            },
            None => serde_json::Value::Object(arguments).to_string(),
        };
        // Cancellation-safe: a client that goes away does not cut the
        // invocation short, so its audit record is always written.
        let invocation = match self.host.invoke(&request.name, &input, &caller).await {
            Ok(invocation) => invocation,
            Err(e) => return Ok(tools::error_result(e.to_json()).into()),
        };
        Ok(match invocation.result {
            Ok(output) => tools::output_result(output),
            Err(e) => tools::error_result(e.to_json()),
        }
        .into())
    }

    async fn on_initialized(&self, context: NotificationContext<RoleServer>) {
        let mut changes = self.host.subscribe();
        let peer = context.peer;
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    changed = changes.changed() => {
                        if changed.is_err() || peer.notify_tool_list_changed().await.is_err() {
                            return;
                        }
                    }
                    // A session that ended quietly (HTTP idle timeout) must
                    // not keep this task alive until the next change.
                    () = tokio::time::sleep(SESSION_CHECK) => {}
                }
                if peer.is_transport_closed() {
                    return;
                }
            }
        });
    }
}

/// Serve MCP on stdin/stdout until the client closes it.
pub async fn serve_stdio(host: Host, token: String) -> Result<(), String> {
    use rmcp::ServiceExt as _;
    let running = SkillTools::with_token(host, token)
        .serve(rmcp::transport::stdio())
        .await
        .map_err(|e| format!("MCP initialisation failed: {e}"))?;
    running
        .waiting()
        .await
        .map_err(|e| format!("MCP session failed: {e}"))?;
    Ok(())
}

/// The Streamable HTTP service for `/mcp` and its session table. `cancel`
/// ends every session (on shutdown).
pub fn http_service(
    host: &Host,
    config: &HttpServerConfig,
    cancel: CancellationToken,
) -> (HttpService, Arc<Sessions>) {
    let idle = std::time::Duration::from_millis(config.mcp_session_idle_ms);
    let mut manager = LocalSessionManager::default();
    let mut session_config = SessionConfig::default();
    session_config.keep_alive = Some(idle);
    manager.session_config = session_config;
    let manager = Arc::new(manager);
    let sessions = Arc::new(Sessions::new(
        manager.clone(),
        config.mcp_sessions_per_token as usize,
        config.mcp_sessions_total as usize,
        idle,
    ));
    let limit = max_body(host);
    let host = host.clone();
    let service = StreamableHttpService::new(
        move || {
            Ok(SkillTools {
                host: host.clone(),
                identity: Identity::PerRequest,
            })
        },
        manager,
        StreamableHttpServerConfig::default()
            .with_allowed_hosts(config.mcp_allowed_hosts.clone())
            .with_cancellation_token(cancel)
            .with_max_request_body_bytes(limit),
    );
    (service, sessions)
}

/// The largest `/mcp` POST body: a JSON-RPC envelope around an input at
/// the input cap.
pub fn max_body(host: &Host) -> usize {
    host.config().limits.input_bytes as usize + 64 * 1024
}

/// End the sessions that are idle or whose token is no longer live, every
/// [`sessions::SWEEP`], until `cancel`.
pub fn sweep_sessions(host: &Host, sessions: Arc<Sessions>, cancel: CancellationToken) {
    let host = host.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(sessions::SWEEP);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                () = cancel.cancelled() => {
                    sessions.close_all().await;
                    return;
                }
            }
            let ended = sessions.sweep(|token| host.core().token_is_live(token)).await;
            if ended > 0 {
                tracing::info!(
                    ended,
                    "MCP sessions ended (idle, or their token was revoked or expired)"
                );
            }
        }
    });
}
