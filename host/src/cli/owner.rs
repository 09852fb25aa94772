//! `skillhost skill …`: the owner's commands.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use serde_json::json;

use super::{Context, fail, print, runtime};
use skillhost::ModuleDigest;
use skillhost::codes;
use skillhost::{Added, Host};
use skillhost::{LimitSet, Narrowing, ReviewedVersion};

#[derive(Debug, Subcommand)]
pub enum SkillCommand {
    /// Validate a component, read its metadata in the sandbox, and register
    /// it as pending. Prints everything it requests, for review.
    Add {
        /// The skill component (.wasm).
        module: PathBuf,
        /// Print the registered version as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Approve the pending version with this exact digest.
    Approve(ApproveArgs),
    /// Run a pending version for review: under the normal limits, with no
    /// secret and every outbound request recorded and refused before DNS.
    /// Prints what it tried and the smallest grant that would have allowed
    /// it, as --http rules for `skill approve`. Changes nothing.
    Trial {
        name: String,
        /// The skill's input: inline JSON, @FILE, or - for stdin.
        #[arg(long)]
        input: String,
        /// Which pending version [default: the newest].
        #[arg(long, value_name = "sha256:HEX")]
        digest: Option<String>,
        /// Print the trial as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Reject the pending version with this exact digest.
    Reject {
        name: String,
        #[arg(long, value_name = "sha256:HEX")]
        digest: String,
    },
    /// Withdraw approval: the skill stops running at once.
    Revoke {
        name: String,
        /// Which approved version [default: the approved one].
        #[arg(long, value_name = "sha256:HEX")]
        digest: Option<String>,
    },
    /// Stop a skill from running without revoking its approval.
    Disable { name: String },
    /// Let a disabled skill run again.
    Enable { name: String },
    /// List skills.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Show a skill with every version, its requests and grants.
    Show {
        name: String,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
pub struct ApproveArgs {
    pub name: String,
    /// The digest you reviewed (from `skill add` or `skill show`).
    #[arg(long, value_name = "sha256:HEX")]
    pub digest: String,
    /// Grant only these HTTP rules (repeatable): each a requested rule, or a
    /// narrowing of one (fewer methods, a longer path prefix), e.g.
    /// 'GET https://api.example.com/v1/issues/'.
    #[arg(long = "http", value_name = "RULE", conflicts_with = "no_http")]
    pub http: Vec<String>,
    /// Grant no HTTP destinations.
    #[arg(long)]
    pub no_http: bool,
    /// Grant only these secrets (repeatable; each must be requested).
    #[arg(long = "secret", value_name = "NAME", conflicts_with = "no_secrets")]
    pub secrets: Vec<String>,
    /// Grant no secrets.
    #[arg(long)]
    pub no_secrets: bool,
    /// Lower the wall-clock limit for this skill.
    #[arg(long, value_name = "MS")]
    pub timeout_ms: Option<u64>,
    /// Lower the memory limit for this skill.
    #[arg(long, value_name = "BYTES")]
    pub memory_bytes: Option<u64>,
    /// Lower the output size limit for this skill.
    #[arg(long, value_name = "BYTES")]
    pub output_bytes: Option<u64>,
    /// Coarsen the clocks this skill reads to this resolution (it can only
    /// be coarser than the host's `limits.clock_resolution_us`).
    #[arg(long, value_name = "MICROSECONDS", value_parser = clap::value_parser!(u64).range(1..))]
    pub clock_resolution_us: Option<u64>,
    /// Print the approved version as JSON.
    #[arg(long)]
    pub json: bool,
}

fn digest(raw: &str) -> Result<ModuleDigest, ExitCode> {
    ModuleDigest::parse_explained(raw).map_err(|message| {
        fail(&json!({ "code": codes::REGISTRY_WRONG_DIGEST, "message": message }))
    })
}

fn print_json<T: serde::Serialize>(value: &T) {
    outln!(
        "{}",
        serde_json::to_string_pretty(value).expect("records serialise")
    );
}

/// `skillhost gc`.
pub fn gc(ctx: &Context, json: bool) -> ExitCode {
    let collected = runtime().and_then(|rt| {
        rt.block_on(async {
            let host = Host::open(ctx.config.clone(), &ctx.data_dir)
                .await
                .map_err(|e| fail(&e.to_json()))?;
            host.gc(&ctx.actor).await.map_err(|e| fail(&e.to_json()))
        })
    });
    match collected {
        Ok(c) if json => {
            print_json(&c);
            ExitCode::SUCCESS
        }
        Ok(c) => {
            outln!(
                "removed {} artifact file(s), {} bytes; kept {} of approved or pending versions",
                c.removed_files,
                c.removed_bytes,
                c.kept_files
            );
            ExitCode::SUCCESS
        }
        Err(code) => code,
    }
}

pub fn run(ctx: &Context, cmd: SkillCommand) -> ExitCode {
    match run_inner(ctx, cmd) {
        Ok(()) => ExitCode::SUCCESS,
        Err(code) => code,
    }
}

fn run_inner(ctx: &Context, cmd: SkillCommand) -> Result<(), ExitCode> {
    let rt = runtime()?;
    let host = rt
        .block_on(Host::open(ctx.config.clone(), &ctx.data_dir))
        .map_err(|e| fail(&e.to_json()))?;
    let who = ctx.actor.as_str();
    match cmd {
        SkillCommand::Add { module, json } => {
            let bytes = std::fs::read(&module).map_err(|e| {
                fail(&json!({ "code": codes::HOST_IO, "message": format!("cannot read {}: {e}", module.display()) }))
            })?;
            super::large_module_notice(bytes.len());
            let added = runtime()?
                .block_on(host.add(&bytes, who))
                .map_err(|e| fail(&e.to_json()))?;
            let v = added.version();
            if json {
                print_json(&ReviewedVersion::from(v.clone()));
            } else {
                if let Added::Unchanged(_) = &added {
                    outln!("these exact bytes are already registered; nothing changed:\n")
                } else {
                    outln!("added a pending version; review it before approving:\n")
                }
                out!("{}", print::review(v));
                if v.state == skillhost::VersionState::Pending {
                    outln!(
                        "\napprove with: skillhost skill approve {} --digest {}",
                        v.name,
                        v.digest
                    );
                }
            }
        }
        SkillCommand::Approve(a) => {
            let d = digest(&a.digest)?;
            let narrowing = Narrowing {
                http: if a.no_http {
                    Some(vec![])
                } else {
                    (!a.http.is_empty()).then_some(a.http)
                },
                secrets: if a.no_secrets {
                    Some(vec![])
                } else {
                    (!a.secrets.is_empty()).then_some(a.secrets)
                },
                limits: LimitSet {
                    timeout_ms: a.timeout_ms,
                    memory_bytes: a.memory_bytes,
                    output_bytes: a.output_bytes,
                    clock_resolution_us: a.clock_resolution_us,
                },
            };
            let v = rt
                .block_on(host.approve(&a.name, &d, &narrowing, who))
                .map_err(|e| fail(&e.to_json()))?;
            if a.json {
                print_json(&ReviewedVersion::from(v));
            } else {
                outln!(
                    "approved {} {} ({})",
                    v.name,
                    v.declared.version.escape_debug(),
                    v.digest
                );
            }
        }
        SkillCommand::Trial {
            name,
            input,
            digest: raw,
            json,
        } => {
            let d = raw.as_deref().map(digest).transpose()?;
            let input = super::input::read(&input, ctx.config.limits.input_bytes)
                .map_err(|e| fail(&e.to_json()))?;
            let t = rt
                .block_on(host.trial(&name, d.as_ref(), &input, who))
                .map_err(|e| fail(&e.to_json()))?;
            if json {
                print_json(&t);
            } else {
                out!("{}", print::trial(&t));
            }
        }
        SkillCommand::Reject { name, digest: raw } => {
            let v = rt
                .block_on(host.reject(&name, &digest(&raw)?, who))
                .map_err(|e| fail(&e.to_json()))?;
            outln!("rejected {} ({})", v.name, v.digest);
        }
        SkillCommand::Revoke { name, digest: raw } => {
            let d = raw.as_deref().map(digest).transpose()?;
            let v = rt
                .block_on(host.revoke(&name, d.as_ref(), who))
                .map_err(|e| fail(&e.to_json()))?;
            outln!("revoked {} ({})", v.name, v.digest);
        }
        SkillCommand::Disable { name } => {
            rt.block_on(host.set_disabled(&name, true, who))
                .map_err(|e| fail(&e.to_json()))?;
            outln!("disabled {name}");
        }
        SkillCommand::Enable { name } => {
            rt.block_on(host.set_disabled(&name, false, who))
                .map_err(|e| fail(&e.to_json()))?;
            outln!("enabled {name}");
        }
        SkillCommand::List { json } => {
            let skills = host.list().map_err(|e| fail(&e.to_json()))?;
            if json {
                print_json(&skills);
            } else {
                out!("{}", print::list(&skills));
            }
        }
        SkillCommand::Show { name, json } => {
            let skill = host.show(&name).map_err(|e| fail(&e.to_json()))?;
            if json {
                let mut shown = serde_json::to_value(&skill).expect("records serialise");
                shown["versions"] = serde_json::to_value(
                    skill
                        .versions
                        .iter()
                        .cloned()
                        .map(ReviewedVersion::from)
                        .collect::<Vec<_>>(),
                )
                .expect("records serialise");
                print_json(&shown);
            } else {
                outln!(
                    "{}{}\n",
                    skill.name,
                    if skill.disabled { " (disabled)" } else { "" }
                );
                for v in &skill.versions {
                    outln!("{}", print::review(v));
                }
            }
        }
    }
    Ok(())
}
