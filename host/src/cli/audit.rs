//! `skillhost audit …`: check and read the audit log.

use std::process::ExitCode;

use clap::Subcommand;
use serde_json::json;

use super::{Context, fail};
use skillhost::codes;
use skillhost::{AuditQuery, verify_audit_log};

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Walk the hash chain and report the first broken, missing, reordered
    /// or truncated record. Exit status 1 if the chain is broken.
    Verify {
        #[arg(long)]
        json: bool,
    },
    /// Print records, filtered.
    Query {
        /// Record type, e.g. invoke, egress, skill.approve.
        #[arg(long = "type", value_name = "TYPE")]
        kind: Option<String>,
        #[arg(long)]
        skill: Option<String>,
        /// Stable code, e.g. rate.limited (or ok).
        #[arg(long)]
        code: Option<String>,
        /// ok, denied or failed.
        #[arg(long)]
        outcome: Option<String>,
        /// Records at or after this RFC 3339 time.
        #[arg(long, value_name = "TIME")]
        since: Option<String>,
        /// Records before this RFC 3339 time.
        #[arg(long, value_name = "TIME")]
        until: Option<String>,
        /// At most this many (the newest).
        #[arg(long, default_value_t = 1000)]
        limit: usize,
        #[arg(long)]
        json: bool,
    },
}

pub fn run(ctx: &Context, cmd: AuditCommand) -> ExitCode {
    match cmd {
        AuditCommand::Verify { json } => match verify_audit_log(&ctx.data_dir) {
            Ok(v) => {
                if json {
                    outln!(
                        "{}",
                        json!({ "ok": true, "records": v.records, "first_seq": v.first_seq, "last_seq": v.last_seq, "segments": v.segments })
                    );
                } else {
                    outln!(
                        "audit log ok: {} records (seq {}..={}) in {} segment(s)",
                        v.records,
                        v.first_seq,
                        v.last_seq,
                        v.segments
                    );
                }
                ExitCode::SUCCESS
            }
            Err(b) => fail(&json!({
                "code": codes::AUDIT_CHAIN_BROKEN,
                "message": format!("audit log broken at seq {} ({} line {}): {}", b.seq, b.segment, b.line, b.reason),
                "seq": b.seq,
                "segment": b.segment,
                "line": b.line,
            })),
        },
        AuditCommand::Query {
            kind,
            skill,
            code,
            outcome,
            since,
            until,
            limit,
            json,
        } => {
            let query = AuditQuery {
                kind,
                skill,
                code,
                outcome,
                actor: None,
                since,
                until,
                limit: Some(limit),
            };
            let query = match query.normalise() {
                Ok(q) => q,
                Err(message) => {
                    return fail(&json!({ "code": codes::HOST_CONFIG, "message": message }));
                }
            };
            let shown = match query.read_log(&ctx.data_dir) {
                Ok(r) => r,
                Err(e) => {
                    return fail(
                        &json!({ "code": codes::HOST_IO, "message": format!("cannot read the audit log: {e}") }),
                    );
                }
            };
            if json {
                outln!(
                    "{}",
                    serde_json::to_string_pretty(&shown).expect("records serialise")
                );
            } else {
                for r in &shown {
                    outln!(
                        "{} #{} {} {} {} actor={} skill={}",
                        r.ts,
                        r.seq,
                        r.kind,
                        r.outcome,
                        r.code,
                        r.actor.escape_debug(),
                        r.skill.as_deref().unwrap_or("-")
                    );
                }
            }
            ExitCode::SUCCESS
        }
    }
}
