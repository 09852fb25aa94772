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
//! what axum's `serve` does not: a connection limit, a header read timeout,
//! and a graceful shutdown that lets in-flight invocations finish.

mod error;
mod owner;
mod skills;

use std::future::Future;
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
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

pub use error::{ApiError, status_for};

use crate::auth::Caller;
use crate::codes;
use crate::config::ServerConfig;
use crate::embed::Host;

/// The OpenAPI 3.1 document for this API, served at `/v1/openapi.json`.
pub const OPENAPI: &str = include_str!("openapi.json");

/// Every route the server answers, as (method, path template).
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/healthz"),
    ("GET", "/metrics"),
    ("GET", "/v1/openapi.json"),
    ("GET", "/v1/skills"),
    ("GET", "/v1/skills/{name}"),
    ("POST", "/v1/skills/{name}/invoke"),
    ("GET", "/v1/owner/pending"),
    ("POST", "/v1/owner/skills/{name}/approve"),
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

/// An authenticated caller (any role). Rejection: 401 `auth.failure`,
/// audited by [`Host::authenticate`].
pub struct Authed(pub Caller);

impl FromRequestParts<AppState> for Authed {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let presented = bearer(parts);
        Ok(Authed(state.host.authenticate(presented).await?))
    }
}

/// The token after `Bearer `, or "" (which fails authentication, audited).
fn bearer(parts: &Parts) -> &str {
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
fn router_with(state: AppState, mcp: crate::mcp::HttpService) -> Router {
    let timeout = Duration::from_millis(state.host.config().server.request_timeout_ms);
    let mcp_routes =
        Router::new()
            .route_service("/mcp", mcp)
            .layer(middleware::from_fn_with_state(
                state.clone(),
                crate::mcp::authenticate,
            ));
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/v1/openapi.json", get(openapi))
        .route("/v1/skills", get(skills::list))
        .route("/v1/skills/{name}", get(skills::show))
        .route("/v1/skills/{name}/invoke", post(skills::invoke))
        .route("/v1/owner/pending", get(owner::pending))
        .route("/v1/owner/skills/{name}/approve", post(owner::approve))
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
    let stats = state.host.engine().stats();
    let text = state.host.metrics().render(&[
        (
            "skillhost_instances_in_flight",
            "Skill instances running now.",
            stats.in_flight() as f64,
        ),
        (
            "skillhost_instances_started",
            "Skill instances started since the host opened (metadata and invoke).",
            stats.instances() as f64,
        ),
        (
            "skillhost_http_connections",
            "Open HTTP connections.",
            state.connections.load(Ordering::SeqCst) as f64,
        ),
    ]);
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
    let mcp = crate::mcp::http_service(&host, &config, mcp_cancel.clone());
    let state = AppState {
        host,
        connections: Arc::default(),
    };
    let connections = state.connections.clone();
    let app = router_with(state, mcp);
    let slots = Arc::new(Semaphore::new(config.max_connections as usize));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(Duration::from_millis(config.header_timeout_ms))
        .keep_alive(true);
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            p = slots.clone().acquire_owned() => p.expect("the semaphore is never closed"),
            () = &mut shutdown => break,
        };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // EMFILE and friends: back off instead of spinning.
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let conn =
            http.serve_connection(TokioIo::new(stream), TowerToHyperService::new(app.clone()));
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
    let grace = Duration::from_millis(config.request_timeout_ms);
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
