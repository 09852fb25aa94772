//! The MCP server: approved skills as tools, over stdio (`skillhost mcp`)
//! and Streamable HTTP (`/mcp` on `skillhost serve`), with the official Rust
//! SDK (`rmcp`).
//!
//! - `tools/list` answers the runnable skills the caller may use, with each
//!   skill's input schema as `inputSchema` and its description.
//! - `tools/call` is [`Host::invoke`] — the one checker pipeline. A refused
//!   or failed call is a tool error (`isError: true`) whose text and
//!   `structuredContent` carry the stable `code`.
//! - `notifications/tools/list_changed` is sent when the runnable set
//!   changes (approve, revoke, disable, enable — from any process).
//! - There are no other tools: nothing in MCP can add, approve or grant.
//!
//! Authentication: stdio takes the token from `SKILLHOST_TOKEN` and checks
//! it again on every request, so revoking or expiring it takes effect at
//! once; over HTTP every request carries `Authorization: Bearer skh_…`,
//! checked before the request reaches MCP.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Extensions,
    Implementation, ListToolsResult, PaginatedRequestParams, ServerCapabilities, ServerConfig,
    Tool,
};
use rmcp::service::{NotificationContext, RequestContext, RoleServer};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ErrorData as McpError, ServerHandler};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use zeroize::Zeroizing;

use crate::api::{ApiError, AppState};
use crate::auth::{AuthError, Caller};
use crate::config::ServerConfig as HttpServerConfig;
use crate::embed::Host;
use crate::skill_host::{HostError, SkillInfo};

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

fn tool(skill: SkillInfo) -> Tool {
    let schema = |v: &Value| v.as_object().cloned();
    let mut tool = Tool::new(
        skill.name,
        skill.description,
        Arc::new(schema(&skill.input_schema).unwrap_or_default()),
    );
    // Declare an output schema only when it promises an object: MCP
    // carries structured results as objects.
    if let Some(out) = skill.output_schema.as_ref()
        && out.get("type") == Some(&json!("object"))
        && let Some(obj) = schema(out)
    {
        tool = tool.with_raw_output_schema(Arc::new(obj));
    }
    tool
}

/// A tool error whose text is the JSON error (with `code`) and whose
/// structured content is the same object.
fn tool_error(error: Value) -> CallToolResult {
    let mut result = CallToolResult::error(vec![ContentBlock::text(error.to_string())]);
    result.structured_content = Some(error);
    result
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
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        let caller = self
            .caller(&context.extensions)
            .await
            .map_err(|e| protocol_error(&e))?;
        let skills = self.host.skills(&caller).map_err(|e| protocol_error(&e))?;
        Ok(ListToolsResult::with_all_items(
            skills.into_iter().map(tool).collect(),
        ))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let caller = match self.caller(&context.extensions).await {
            Ok(c) => c,
            Err(e) => return Ok(tool_error(e.to_json()).into()),
        };
        let input = Value::Object(request.arguments.unwrap_or_default()).to_string();
        // Cancellation-safe: a client that goes away does not cut the
        // invocation short, so its audit record is always written.
        let invocation = match self.host.invoke(&request.name, &input, &caller).await {
            Ok(invocation) => invocation,
            Err(e) => return Ok(tool_error(e.to_json()).into()),
        };
        Ok(match invocation.result {
            Ok(output) => {
                let mut result = CallToolResult::success(vec![ContentBlock::text(output.clone())]);
                if let Ok(value @ Value::Object(_)) = serde_json::from_str::<Value>(&output) {
                    result.structured_content = Some(value);
                }
                result
            }
            Err(e) => tool_error(e.to_json()),
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

/// The Streamable HTTP service for `/mcp`. `cancel` ends every session (on
/// shutdown).
pub fn http_service(
    host: &Host,
    config: &HttpServerConfig,
    cancel: CancellationToken,
) -> HttpService {
    let host = host.clone();
    let limit = host.config().limits.input_bytes as usize;
    StreamableHttpService::new(
        move || {
            Ok(SkillTools {
                host: host.clone(),
                identity: Identity::PerRequest,
            })
        },
        Arc::new(LocalSessionManager::default()),
        StreamableHttpServerConfig::default()
            .with_allowed_hosts(config.mcp_allowed_hosts.clone())
            .with_cancellation_token(cancel)
            // A JSON-RPC envelope around an input at the input cap.
            .with_max_request_body_bytes(limit + 64 * 1024),
    )
}

/// Middleware in front of `/mcp`: authenticate the bearer token (401 and an
/// `auth.failure` record otherwise) and hand the [`Caller`] to the handler.
pub async fn authenticate(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let (mut parts, body) = req.into_parts();
    match <crate::api::Authed as axum::extract::FromRequestParts<AppState>>::from_request_parts(
        &mut parts, &state,
    )
    .await
    {
        Ok(crate::api::Authed(caller)) => {
            parts.extensions.insert(caller);
            req = Request::from_parts(parts, body);
            next.run(req).await
        }
        Err(e) => {
            let e: ApiError = e;
            e.into_response()
        }
    }
}
