//! `skillhost serve` (HTTP API + MCP over Streamable HTTP) and `skillhost
//! mcp` (MCP over stdio).

use std::process::ExitCode;

use clap::Args;
use serde_json::json;

use super::{Context, fail, runtime};
use skillhost::Host;
use skillhost::codes;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on, e.g. 127.0.0.1:7878 (port 0 picks a free one)
    /// [default: server.bind from the config, 127.0.0.1:7878].
    #[arg(long, value_name = "ADDR:PORT")]
    pub bind: Option<String>,
}

pub fn serve(ctx: &Context, args: ServeArgs) -> ExitCode {
    let mut config = ctx.config.clone();
    if let Some(bind) = args.bind {
        config.server.bind = bind;
    }
    if let Err(e) = config.validate() {
        return fail(&json!({ "code": codes::HOST_CONFIG, "message": e.to_string() }));
    }
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    rt.block_on(async {
        let bind = config.server.bind.clone();
        let host = match Host::open(config, &ctx.data_dir).await {
            Ok(h) => h,
            Err(e) => return fail(&e.to_json()),
        };
        let listener = match tokio::net::TcpListener::bind(&bind).await {
            Ok(l) => l,
            Err(e) => {
                return fail(&json!({ "code": codes::HOST_IO, "message": format!("cannot listen on {bind}: {e}") }));
            }
        };
        match listener.local_addr() {
            Ok(addr) => eprintln!("skillhost: listening on http://{addr} (HTTP API at /v1, MCP at /mcp)"),
            Err(e) => return fail(&json!({ "code": codes::HOST_IO, "message": e.to_string() })),
        }
        match skillhost::serve_http(host, listener, shutdown_signal()).await {
            Ok(()) => {
                eprintln!("skillhost: stopped");
                ExitCode::SUCCESS
            }
            Err(e) => fail(&json!({ "code": codes::HOST_IO, "message": e.to_string() })),
        }
    })
}

/// SIGTERM or Ctrl-C.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {},
                    _ = tokio::signal::ctrl_c() => {},
                }
            }
            Err(e) => {
                tracing::warn!("cannot listen for SIGTERM: {e}");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
    eprintln!("skillhost: shutting down; letting in-flight requests finish");
}

pub fn mcp(ctx: &Context) -> ExitCode {
    let token = match std::env::var(skillhost::TOKEN_ENV) {
        Ok(t) if !t.is_empty() => t,
        _ => {
            return fail(&json!({
                "code": codes::AUTH_FAILURE,
                "message": format!("set {} to a token from `skillhost token create`", skillhost::TOKEN_ENV),
            }));
        }
    };
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    rt.block_on(async {
        let host = match Host::open(ctx.config.clone(), &ctx.data_dir).await {
            Ok(h) => h,
            Err(e) => return fail(&e.to_json()),
        };
        // Fail fast on a bad token (audited); it is checked again on every
        // request, so a later revocation also takes effect.
        if let Err(e) = host.authenticate(&token).await {
            return fail(&e.to_json());
        }
        match skillhost::serve_mcp_stdio(host, token).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(message) => fail(&json!({ "code": codes::HOST_INTERNAL, "message": message })),
        }
    })
}
