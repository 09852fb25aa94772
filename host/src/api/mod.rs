//! The HTTP API: `skillhost serve`.
//!
//! Every route but `/healthz` and `/v1/openapi.json` needs
//! `Authorization: Bearer skh_…`. Invocations go through
//! [`Host::invoke`](crate::Host::invoke) — the one checker pipeline — and
//! errors are JSON with the stable `code` (status per [`status_for`]).
//! [`ROUTES`] lists every route; `openapi.json` documents exactly those
//! (a test keeps the three in step).
//!
//! The server owns its connection handling (hyper) so that it can enforce
//! what axum's `serve` does not: a connection limit with a reserve that
//! still answers `/healthz`, a header read timeout (which is also the idle
//! keep-alive timeout), limits on the request line and headers, and a
//! graceful shutdown that lets in-flight invocations finish. Every error
//! body is JSON with a stable `code` — the framework's own rejections too
//! ([`json_errors`]).

mod error;
mod mcp_front;
mod owner;
mod skills;

use std::future::Future;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

#[cfg_attr(not(feature = "internal"), allow(unused_imports))] // tests and benches
pub use error::{ApiError, status_for};

use crate::auth::Caller;
use crate::codes;
use crate::config::ServerConfig;
use crate::embed::Host;
use mcp_front::McpState;

/// The OpenAPI 3.1 document for this API, served at `/v1/openapi.json`.
pub const OPENAPI: &str = include_str!("openapi.json");

/// Every route the server answers, as (method, path template).
#[cfg(any(test, feature = "internal"))] // tests and benches
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/healthz"),
    ("GET", "/metrics"),
    ("GET", "/v1/openapi.json"),
    ("GET", "/v1/skills"),
    ("GET", "/v1/skills/{name}"),
    ("POST", "/v1/skills/{name}/invoke"),
    ("GET", "/v1/owner/pending"),
    ("POST", "/v1/owner/skills/{name}/approve"),
    ("POST", "/v1/owner/skills/{name}/trial"),
    ("POST", "/v1/owner/skills/{name}/revoke"),
    ("POST", "/v1/owner/skills/{name}/disable"),
    ("POST", "/v1/owner/skills/{name}/enable"),
    ("GET", "/v1/owner/audit"),
    ("POST", "/mcp"),
    ("GET", "/mcp"),
    ("DELETE", "/mcp"),
];

/// What every handler gets.
#[derive(Clone)]
pub struct AppState {
    host: Host,
    connections: Arc<AtomicU64>,
}

impl AppState {
    pub(crate) fn host(&self) -> &Host {
        &self.host
    }
}

/// The peer address of the connection a request came on.
#[derive(Debug, Clone, Copy)]
pub struct Source(pub IpAddr);

/// Longest request target (path and query) answered; longer is 414
/// `api.too_large`.
pub const MAX_URI_BYTES: usize = 8 * 1024;
/// Most header bytes (names and values) and header lines answered; more is
/// 431 `api.too_large`.
pub const MAX_HEADER_BYTES: usize = 32 * 1024;
pub const MAX_HEADERS: usize = 64;
/// Connections beyond `server.max_connections` that are still accepted
/// when every regular one is taken, so that health checks answer: each
/// serves one request, sent within [`RESERVE_HEADER_TIMEOUT`], then closes.
/// Idle connections can hold a reserved place for that second at most.
pub const HEALTH_RESERVE: usize = 8;
/// How long a reserved connection may take to send its request.
const RESERVE_HEADER_TIMEOUT: Duration = Duration::from_secs(1);

/// An authenticated caller (any role). Rejection: 401 `auth.failure`,
/// audited by [`Host::authenticate`].
pub struct Authed(pub Caller);

impl FromRequestParts<AppState> for Authed {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let presented = bearer(parts);
        let source = parts
            .extensions
            .get::<Source>()
            .map_or_else(|| "unknown".to_string(), |s| s.0.to_string());
        Ok(Authed(
            state.host.core().authenticate_from(presented, &source).await?,
        ))
    }
}

/// The token after `Bearer `, or "" (which fails authentication, audited).
pub(crate) fn bearer(parts: &Parts) -> &str {
    parts
        .headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map_or("", str::trim)
}

/// The routes: the HTTP API, and `mcp` (Streamable HTTP) at `/mcp`.
fn router_with(state: AppState, mcp: crate::mcp::HttpService, mcp_state: McpState) -> Router {
    let timeout = Duration::from_millis(state.host.config().server.request_timeout_ms);
    let mcp_routes = Router::new()
        .route_service("/mcp", mcp)
        .layer(middleware::from_fn_with_state(mcp_state, mcp_front::front));
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/v1/openapi.json", get(openapi))
        .route("/v1/skills", get(skills::list))
        .route("/v1/skills/{name}", get(skills::show))
        .route("/v1/skills/{name}/invoke", post(skills::invoke))
        .route("/v1/owner/pending", get(owner::pending))
        .route("/v1/owner/skills/{name}/approve", post(owner::approve))
        .route("/v1/owner/skills/{name}/trial", post(owner::trial))
        .route("/v1/owner/skills/{name}/revoke", post(owner::revoke))
        .route("/v1/owner/skills/{name}/disable", post(owner::disable))
        .route("/v1/owner/skills/{name}/enable", post(owner::enable))
        .route("/v1/owner/audit", get(owner::audit))
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                codes::API_METHOD_NOT_ALLOWED,
                "this route does not take this method",
            )
        })
        .fallback(|| async { ApiError::new(codes::API_NOT_FOUND, "no such route") })
        .with_state(state)
        .merge(mcp_routes)
        .layer(middleware::from_fn(move |req: Request, next: Next| {
            request_timeout(timeout, req, next)
        }))
        .layer(middleware::from_fn(json_errors))
        .layer(middleware::from_fn(head_limits))
}

/// Refuse a request line or headers over the limits, as JSON (hyper's own
/// limits, far higher, answer with an empty body).
async fn head_limits(req: Request, next: Next) -> Response {
    let uri = req.uri().path_and_query().map_or(0, |p| p.as_str().len());
    if uri > MAX_URI_BYTES {
        return too_large(
            axum::http::StatusCode::URI_TOO_LONG,
            format!("the request target is more than {MAX_URI_BYTES} bytes"),
        );
    }
    let headers = req.headers();
    let bytes: usize = headers
        .iter()
        .map(|(n, v)| n.as_str().len() + v.len())
        .sum();
    if headers.len() > MAX_HEADERS || bytes > MAX_HEADER_BYTES {
        return too_large(
            axum::http::StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            format!(
                "the request has more than {MAX_HEADERS} headers or {MAX_HEADER_BYTES} header bytes"
            ),
        );
    }
    next.run(req).await
}

fn too_large(status: axum::http::StatusCode, message: String) -> Response {
    let mut e = ApiError::new(codes::API_TOO_LARGE, message);
    e.status = status;
    e.into_response()
}

/// Every error answer is JSON with a stable `code`: a rejection the
/// framework answered in plain text (a path that is not UTF-8, a body over
/// the limit, a malformed JSON body) becomes `{"code", "message"}` with the
/// same status.
async fn json_errors(req: Request, next: Next) -> Response {
    let response = next.run(req).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let is_json = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if is_json {
        return response;
    }
    use http_body_util::BodyExt as _;
    let text = match http_body_util::Limited::new(response.into_body(), 4096)
        .collect()
        .await
    {
        Ok(c) => String::from_utf8_lossy(&c.to_bytes()).trim().to_string(),
        Err(_) => String::new(),
    };
    let message = if text.is_empty() {
        status.canonical_reason().unwrap_or("error").to_string()
    } else {
        text
    };
    use axum::http::StatusCode as S;
    let code = match status {
        S::NOT_FOUND => codes::API_NOT_FOUND,
        S::METHOD_NOT_ALLOWED => codes::API_METHOD_NOT_ALLOWED,
        S::PAYLOAD_TOO_LARGE | S::URI_TOO_LONG | S::REQUEST_HEADER_FIELDS_TOO_LARGE => {
            codes::API_TOO_LARGE
        }
        S::REQUEST_TIMEOUT | S::GATEWAY_TIMEOUT => codes::API_TIMEOUT,
        s if s.is_server_error() => codes::HOST_INTERNAL,
        _ => codes::API_BAD_REQUEST,
    };
    let mut e = ApiError::new(code, message);
    e.status = status;
    e.into_response()
}

/// Answer 504 `api.timeout` when a request takes too long. An invocation
/// runs in its own task, so it still finishes and is audited.
async fn request_timeout(limit: Duration, req: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(response) => response,
        Err(_) => ApiError::new(
            codes::API_TIMEOUT,
            format!("the request took longer than {} ms", limit.as_millis()),
        )
        .into_response(),
    }
}

async fn healthz() -> axum::Json<serde_json::Value> {
    axum::Json(serde_json::json!({ "status": "ok" }))
}

async fn openapi() -> Response {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        OPENAPI,
    )
        .into_response()
}

/// Prometheus text format; owner tokens only (counters reveal which skills
/// are used and refused).
async fn metrics(State(state): State<AppState>, _owner: owner::Owner) -> Response {
    let stats = state.host.core().engine().stats();
    let loaded = state.host.core().loaded_stats();
    let mut text = state.host.metrics().render(&[
        (
            "skillhost_instances_in_flight",
            "Skill instances running now.",
            "gauge",
            stats.in_flight() as f64,
        ),
        (
            "skillhost_instances_started",
            "Skill instances started since the host opened (metadata and invoke).",
            "counter",
            stats.instances() as f64,
        ),
        (
            "skillhost_http_connections",
            "Open HTTP connections.",
            "gauge",
            state.connections.load(Ordering::SeqCst) as f64,
        ),
        (
            "skillhost_loaded_bytes",
            "Bytes of loaded components kept in memory (bounded by engine.loaded_bytes_max).",
            "gauge",
            loaded.bytes as f64,
        ),
        (
            "skillhost_loaded_components",
            "Components loaded in memory now.",
            "gauge",
            loaded.entries as f64,
        ),
        (
            "skillhost_loaded_hits_total",
            "Invocations that found their component loaded.",
            "counter",
            loaded.hits as f64,
        ),
        (
            "skillhost_loaded_misses_total",
            "Invocations that loaded their component (read back, re-hashed, deserialised or compiled).",
            "counter",
            loaded.misses as f64,
        ),
        (
            "skillhost_loaded_evictions_total",
            "Components dropped from memory to stay within engine.loaded_bytes_max.",
            "counter",
            loaded.evictions as f64,
        ),
    ]);
    text.push_str(&state.host.core().audit_batches_metrics());
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response()
}

/// Serve the API on `listener` until `shutdown` resolves, then stop
/// accepting, let in-flight requests finish (each is bounded by
/// `server.request_timeout_ms`) and return.
pub async fn serve(
    host: Host,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send,
) -> std::io::Result<()> {
    let config: ServerConfig = host.config().server.clone();
    let mcp_cancel = CancellationToken::new();
    let (mcp, sessions) = crate::mcp::http_service(&host, &config, mcp_cancel.clone());
    crate::mcp::sweep_sessions(&host, sessions.clone(), mcp_cancel.clone());
    let state = AppState {
        host: host.clone(),
        connections: Arc::default(),
    };
    let mcp_state = McpState {
        app: state.clone(),
        sessions,
        max_body: crate::mcp::max_body(&host),
    };
    let connections = state.connections.clone();
    let app = router_with(state, mcp, mcp_state);
    let slots = Arc::new(Semaphore::new(config.max_connections as usize));
    let reserve = Arc::new(Semaphore::new(HEALTH_RESERVE));
    let grace = Duration::from_millis(config.request_timeout_ms);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        // Waiting for a request's headers includes waiting on an idle
        // keep-alive connection, so this is the idle timeout too.
        .header_read_timeout(Duration::from_millis(config.header_timeout_ms))
        // Above our own limits, so that ours answer (in JSON) first.
        .max_headers(MAX_HEADERS * 2)
        .keep_alive(true);
    let mut reserve_http = hyper::server::conn::http1::Builder::new();
    reserve_http
        .timer(TokioTimer::new())
        .header_read_timeout(RESERVE_HEADER_TIMEOUT)
        .keep_alive(false);
    tokio::pin!(shutdown);
    loop {
        // A free slot, or — when every slot is taken — a reserved one.
        let (permit, reserved) = tokio::select! {
            p = slots.clone().acquire_owned() => (p.expect("the semaphore is never closed"), false),
            p = reserve.clone().acquire_owned(), if slots.available_permits() == 0 => {
                (p.expect("the semaphore is never closed"), true)
            }
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // EMFILE and friends: back off instead of spinning.
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let source = Source(peer.ip());
        let router = app.clone();
        let service =
            hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
                req.extensions_mut().insert(source);
                let mut router = router.clone();
                async move {
                    use tower_service::Service as _;
                    router.call(req.map(axum::body::Body::new)).await
                }
            });
        let builder = if reserved { &reserve_http } else { &http };
        let conn = builder.serve_connection(TokioIo::new(stream), service);
        let conn = graceful.watch(conn);
        let connections = connections.clone();
        connections.fetch_add(1, Ordering::SeqCst);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!("connection ended: {e}");
            }
            connections.fetch_sub(1, Ordering::SeqCst);
            drop(permit);
        });
    }
    drop(listener);
    tracing::info!("shutting down: waiting for in-flight requests");
    // Long-lived MCP event streams end now; requests in flight carry on.
    mcp_cancel.cancel();
    // The counts of repeated refusals still being gathered.
    if let Err(e) = host.flush_repeats(true).await {
        tracing::warn!(code = e.code(), "cannot write the repeat summaries: {e}");
    }
    if tokio::time::timeout(grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            "connections still open after {} ms; closing them",
            grace.as_millis()
        );
    }
    Ok(())
}
