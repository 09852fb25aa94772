//! `skillhost secret …`: the owner's secret commands. Values are read from
//! stdin or a no-echo prompt, never from the command line, and never printed.

use std::io::{IsTerminal, Read};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;
use serde_json::json;
use zeroize::Zeroizing;

use super::{Context, fail, runtime};
use skillhost::Host;
use skillhost::MasterKey;
use skillhost::codes;

#[derive(Debug, Subcommand)]
pub enum SecretCommand {
    /// Create a new master key file (0600). Refuses to overwrite one.
    InitKey {
        /// Where [default: <data-dir>/master.key].
        #[arg(long, value_name = "FILE")]
        key_file: Option<PathBuf>,
    },
    /// Set a secret for a skill; the value is read from stdin (or a no-echo
    /// prompt on a terminal).
    Set {
        skill: String,
        name: String,
        /// A request rule the value may be sent under (repeatable, at least
        /// one): an https origin, 'https://api.example.com', or methods and a
        /// path prefix, 'GET https://api.example.com/v1/issues/'. The
        /// placeholder is substituted only in a request one of these rules
        /// and one of the skill's grants allow.
        #[arg(
            long = "allow",
            visible_alias = "allow-host",
            value_name = "RULE",
            required = true
        )]
        allow: Vec<String>,
    },
    /// List secrets: names, bound destinations, times and the last four
    /// characters of each value.
    List {
        skill: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Delete a secret.
    Rm { skill: String, name: String },
    /// Re-encrypt every secret under a new key, in one transaction. Then
    /// point SKILLHOST_MASTER_KEY (or the key file) at the new key.
    RotateKey {
        /// The new key, created with `secret init-key --key-file`.
        #[arg(long, value_name = "FILE")]
        new_key_file: PathBuf,
    },
}

fn read_value() -> Result<Zeroizing<String>, ExitCode> {
    let io = |e: std::io::Error| {
        fail(&json!({ "code": codes::HOST_IO, "message": format!("cannot read the value: {e}") }))
    };
    let mut value = if std::io::stdin().is_terminal() {
        Zeroizing::new(rpassword::prompt_password("secret value (not echoed): ").map_err(io)?)
    } else {
        let mut text = Zeroizing::new(String::new());
        std::io::stdin()
            .take(skillhost::MAX_SECRET_LEN as u64 + 2)
            .read_to_string(&mut text)
            .map_err(io)?;
        text
    };
    // One trailing newline from `echo` or a file is not part of the value.
    if value.ends_with('\n') {
        value.pop();
        if value.ends_with('\r') {
            value.pop();
        }
    }
    Ok(value)
}

pub fn run(ctx: &Context, cmd: SecretCommand) -> ExitCode {
    match run_inner(ctx, cmd) {
        Ok(()) => ExitCode::SUCCESS,
        Err(code) => code,
    }
}

fn run_inner(ctx: &Context, cmd: SecretCommand) -> Result<(), ExitCode> {
    if let SecretCommand::InitKey { key_file } = &cmd {
        let path = key_file
            .clone()
            .unwrap_or_else(|| ctx.data_dir.join(skillhost::MasterKey::FILE));
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            skillhost::create_data_dir(parent)
                .map_err(|e| fail(&json!({ "code": codes::HOST_IO, "message": e.to_string() })))?;
        }
        let key = MasterKey::generate();
        key.write_new(&path)
            .map_err(|e| fail(&json!({ "code": e.code(), "message": e.to_string() })))?;
        outln!("created master key {} in {}", key.id(), path.display());
        return Ok(());
    }
    let rt = runtime()?;
    let host = rt
        .block_on(Host::open(ctx.config.clone(), &ctx.data_dir))
        .map_err(|e| fail(&e.to_json()))?;
    let who = ctx.actor.as_str();
    match cmd {
        SecretCommand::InitKey { .. } => unreachable!("handled above"),
        SecretCommand::Set { skill, name, allow } => {
            let value = read_value()?;
            rt.block_on(host.set_secret(&skill, &name, value, &allow, who))
                .map_err(|e| fail(&e.to_json()))?;
            outln!("set {name} for {skill}");
        }
        SecretCommand::List { skill, json } => {
            let list = host
                .list_secrets(skill.as_deref())
                .map_err(|e| fail(&e.to_json()))?;
            if json {
                outln!(
                    "{}",
                    serde_json::to_string_pretty(&list).expect("summaries serialise")
                );
            } else {
                outln!(
                    "{:<20} {:<20} {:<12} {:<21} HOSTS",
                    "SKILL",
                    "NAME",
                    "VALUE",
                    "UPDATED"
                );
                for s in list {
                    outln!(
                        "{:<20} {:<20} {:<12} {:<21} {}",
                        s.skill,
                        s.name,
                        s.mask,
                        s.updated_at,
                        s.hosts.join(", ")
                    );
                }
            }
        }
        SecretCommand::Rm { skill, name } => {
            let removed = rt
                .block_on(host.remove_secret(&skill, &name, who))
                .map_err(|e| fail(&e.to_json()))?;
            if !removed {
                return Err(fail(&json!({
                    "code": codes::SECRET_NOT_SET,
                    "message": format!("{skill} has no secret named {name}"),
                })));
            }
            outln!("removed {name} from {skill}");
        }
        SecretCommand::RotateKey { new_key_file } => {
            let new_key = MasterKey::from_file(&new_key_file)
                .map_err(|e| fail(&json!({ "code": e.code(), "message": e.to_string() })))?;
            let n = rt
                .block_on(host.rotate_key(&new_key, who))
                .map_err(|e| fail(&e.to_json()))?;
            outln!(
                "re-encrypted {n} secret(s) under key {}; now use {} as the master key",
                new_key.id(),
                new_key_file.display()
            );
        }
    }
    Ok(())
}
