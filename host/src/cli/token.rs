//! `skillhost token …`: caller identities for the HTTP API and MCP.

use std::process::ExitCode;

use clap::Subcommand;
use serde_json::json;

use super::{Context, fail, runtime};
use skillhost::Host;
use skillhost::Role;
use skillhost::codes;

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token and print it once. Only its hash is stored.
    Create {
        #[arg(long)]
        name: String,
        /// invoker (list and invoke its skills) or owner (everything).
        #[arg(long, value_parser = ["invoker", "owner"])]
        role: String,
        /// Skills an invoker may use, comma-separated [default: all].
        #[arg(long, value_delimiter = ',')]
        skills: Option<Vec<String>>,
        /// Lifetime, e.g. 90d, 12h [default: no expiry].
        #[arg(long, value_name = "DURATION")]
        expires: Option<String>,
    },
    /// List tokens (names, roles, scopes, times; never the tokens).
    List {
        #[arg(long)]
        json: bool,
    },
    /// Revoke a token by name.
    Revoke { name: String },
}

pub fn run(ctx: &Context, cmd: TokenCommand) -> ExitCode {
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(c) => return c,
    };
    let host = match rt.block_on(Host::open(ctx.config.clone(), &ctx.data_dir)) {
        Ok(h) => h,
        Err(e) => return fail(&e.to_json()),
    };
    match cmd {
        TokenCommand::Create {
            name,
            role,
            skills,
            expires,
        } => {
            let role = Role::parse(&role).expect("clap restricts the role");
            let expires = match expires
                .as_deref()
                .map(humantime::parse_duration)
                .transpose()
            {
                Ok(d) => d,
                Err(e) => {
                    return fail(
                        &json!({ "code": codes::AUTH_INVALID, "message": format!("--expires: {e}") }),
                    );
                }
            };
            match rt.block_on(host.create_token(&name, role, skills, expires, &ctx.actor)) {
                Ok(t) => {
                    outln!("{}", t.token.as_str());
                    eprintln!(
                        "token {} ({}) created; it is shown only this once",
                        t.record.name,
                        t.record.role.as_str()
                    );
                    ExitCode::SUCCESS
                }
                Err(e) => fail(&e.to_json()),
            }
        }
        TokenCommand::List { json } => match host.list_tokens() {
            Ok(list) => {
                if json {
                    outln!(
                        "{}",
                        serde_json::to_string_pretty(&list).expect("records serialise")
                    );
                } else {
                    for t in list {
                        outln!(
                            "{:<20} {:<8} skills={} expires={} {}",
                            t.name,
                            t.role.as_str(),
                            t.skills.map_or("*".to_string(), |s| s.join(",")),
                            t.expires_at.as_deref().unwrap_or("never"),
                            if t.revoked_at.is_some() {
                                "REVOKED"
                            } else {
                                ""
                            }
                        );
                    }
                }
                ExitCode::SUCCESS
            }
            Err(e) => fail(&e.to_json()),
        },
        TokenCommand::Revoke { name } => match rt.block_on(host.revoke_token(&name, &ctx.actor)) {
            Ok(()) => {
                outln!("revoked {name}");
                ExitCode::SUCCESS
            }
            Err(e) => fail(&e.to_json()),
        },
    }
}
