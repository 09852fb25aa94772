//! The `skillhost` command line.

/// `print!` to stdout; a reader that went away (`skillhost … | head`)
/// ends the process quietly with status 0 instead of a panic.
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::cli::write_stdout(format_args!($($arg)*), false)
    };
}

/// `println!` to stdout, quiet on a closed pipe like [`out!`].
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::cli::write_stdout(format_args!($($arg)*), true)
    };
}

mod audit;
mod input;
mod invoke;
mod new;
mod owner;
mod print;
mod secret;
mod serve;
mod token;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use serde_json::json;

use skillhost::HostConfig;
use skillhost::codes;

/// Write to stdout; exit 0 at once if the reader closed the pipe.
pub(crate) fn write_stdout(args: std::fmt::Arguments<'_>, newline: bool) {
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    let written = stdout
        .write_fmt(args)
        .and_then(|()| {
            if newline {
                stdout.write_all(b"\n")
            } else {
                Ok(())
            }
        })
        .and_then(|()| stdout.flush());
    match written {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => std::process::exit(0),
        Err(e) => {
            eprintln!("skillhost: cannot write to stdout: {e}");
            std::process::exit(1);
        }
    }
}

/// Name of the config file looked for in the data dir.
pub const CONFIG_FILE: &str = "skillhost.toml";

#[derive(Debug, Parser)]
#[command(
    name = "skillhost",
    version,
    about = "Run AI-agent skills (WebAssembly components) in a bounded sandbox, \
             only after an owner approved their exact bytes.",
    after_help = "Owner workflow: `skill add FILE` → review → `skill approve NAME --digest sha256:…` → `invoke NAME`.\n\
                  Exit status: 0 on success, 1 when the host refused or the skill failed (a JSON error with a \
                  stable `code` is printed on stderr), 2 on a usage error.\n\
                  Log level: RUST_LOG (default `warn`)."
)]
pub struct Cli {
    /// Data dir: registry, module store, artifact cache, audit log (created 0700).
    #[arg(long, global = true, env = "SKILLHOST_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    /// TOML config file: limits, engine, egress, rate, audit, server
    /// [default: skillhost.toml in the data dir, if it exists].
    #[arg(long, global = true, env = "SKILLHOST_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Who is acting, for the audit log and decision records [default: $USER].
    #[arg(long, global = true, env = "SKILLHOST_ACTOR", value_name = "NAME")]
    pub actor: Option<String>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Owner commands: add, review, approve, reject, revoke, disable, enable.
    #[command(subcommand)]
    Skill(owner::SkillCommand),
    /// Owner commands for secrets: init-key, set, list, rm, rotate-key.
    #[command(subcommand)]
    Secret(secret::SecretCommand),
    /// Caller tokens: create, list, revoke.
    #[command(subcommand)]
    Token(token::TokenCommand),
    /// Verify and query the audit log.
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// Invoke the approved version of a skill by name.
    Invoke(invoke::InvokeArgs),
    /// Run a local module for its author, through a throw-away in-memory
    /// registry that approves everything the module requests. Never touches
    /// the real registry. UNSAFE for untrusted modules: nobody reviews them.
    #[command(alias = "run")]
    Dev(invoke::DevArgs),
    /// Serve the HTTP API (/v1) and MCP over Streamable HTTP (/mcp) until
    /// SIGTERM or Ctrl-C; in-flight requests finish first. Callers need a
    /// token (`token create`).
    Serve(serve::ServeArgs),
    /// Serve MCP over stdin/stdout for a desktop client. The token comes
    /// from SKILLHOST_TOKEN and is re-checked on every request.
    Mcp,
    /// Remove compiled artifacts that no approved or pending version needs
    /// (rejected, superseded, revoked). Audited; safe while `serve` runs.
    /// Module files are kept (see README, "Disk and memory").
    Gc {
        /// Print what was removed as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Create a ready skill project: manifest, typed input and output, a
    /// test, and a build script that prints where the component is.
    New(new::NewArgs),
    /// Print the effective configuration as TOML.
    Config,
    /// List every stable outcome code and its meaning.
    Codes,
}

/// Modules from this size on (an interpreter inside: Python, JavaScript)
/// take seconds to compile; say so before the wait starts.
const LARGE_MODULE_BYTES: usize = 4 << 20;

/// On stderr, before a large module is compiled.
fn large_module_notice(len: usize) {
    if len >= LARGE_MODULE_BYTES {
        eprintln!(
            "compiling a {:.1} MB component; this can take tens of seconds, once: later loads use the compiled code",
            len as f64 / 1e6
        );
    }
}

/// What every command gets.
pub struct Context {
    pub config: HostConfig,
    pub data_dir: PathBuf,
    pub actor: String,
}

/// Parse arguments and run. Returns the process exit code.
pub fn main() -> ExitCode {
    init_tracing();
    let cli = Cli::parse();
    let data_dir = cli
        .data_dir
        .clone()
        .unwrap_or_else(skillhost::default_data_dir);
    let config = match load_config(cli.config.as_deref(), &data_dir) {
        Ok(c) => c,
        Err(e) => return fail(&json!({ "code": codes::HOST_CONFIG, "message": e.to_string() })),
    };
    let actor = cli
        .actor
        .clone()
        .or_else(|| std::env::var("USER").ok())
        .filter(|a| !a.is_empty())
        .unwrap_or_else(|| "owner".to_string());
    let ctx = Context {
        config,
        data_dir,
        actor,
    };
    match cli.command {
        Command::Config => {
            out!("{}", ctx.config.to_toml());
            ExitCode::SUCCESS
        }
        Command::Codes => {
            for (code, meaning) in codes::ALL {
                outln!("{code}\t{meaning}");
            }
            ExitCode::SUCCESS
        }
        Command::Skill(cmd) => owner::run(&ctx, cmd),
        Command::Audit(cmd) => audit::run(&ctx, cmd),
        Command::Secret(cmd) => secret::run(&ctx, cmd),
        Command::Token(cmd) => token::run(&ctx, cmd),
        Command::Invoke(args) => invoke::invoke(&ctx, args),
        Command::Dev(args) => invoke::dev(&ctx, args),
        Command::Serve(args) => serve::serve(&ctx, args),
        Command::Mcp => serve::mcp(&ctx),
        Command::Gc { json } => owner::gc(&ctx, json),
        Command::New(args) => new::new(args),
    }
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

fn load_config(
    explicit: Option<&Path>,
    data_dir: &Path,
) -> Result<HostConfig, skillhost::config::ConfigError> {
    match explicit {
        Some(path) => HostConfig::load(path),
        None => {
            let default = data_dir.join(CONFIG_FILE);
            if default.is_file() {
                HostConfig::load(&default)
            } else {
                Ok(HostConfig::default())
            }
        }
    }
}

/// A runtime for the async parts of a command.
fn runtime() -> Result<tokio::runtime::Runtime, ExitCode> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| fail(&json!({ "code": codes::HOST_INTERNAL, "message": format!("cannot start runtime: {e}") })))
}

/// Print a JSON error on stderr (one line) and return exit status 1.
fn fail(error: &serde_json::Value) -> ExitCode {
    eprintln!("{error}");
    ExitCode::FAILURE
}
