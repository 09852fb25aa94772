//! The `skillhost` command line.

mod input;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use serde_json::json;

use crate::codes;
use crate::config::HostConfig;
use crate::engine::SkillEngine;
use crate::sandbox::LogRecord;

/// Name of the config file looked for in the data dir.
pub const CONFIG_FILE: &str = "skillhost.toml";

#[derive(Debug, Parser)]
#[command(
    name = "skillhost",
    version,
    about = "Run AI-agent skills (WebAssembly components) in a bounded sandbox.",
    after_help = "Exit status: 0 on success, 1 when the host refused or the skill failed \
                  (a JSON error with a stable `code` is printed on stderr), 2 on a usage error.\n\
                  Log level: RUST_LOG (default `warn`)."
)]
pub struct Cli {
    /// Data dir for the compiled-artifact cache (created 0700 on first write).
    #[arg(long, global = true, env = "SKILLHOST_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    /// TOML file with limits [default: <data-dir>/skillhost.toml if it exists].
    #[arg(long, global = true, env = "SKILLHOST_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a skill component directly, for skill authors. No approval is
    /// involved: run only modules you trust or are testing.
    Run {
        /// The skill component (.wasm, built for wasm32-wasip2).
        module: PathBuf,
        /// JSON input: inline JSON, @FILE to read a file, or - for stdin.
        #[arg(long, short, value_name = "JSON|@FILE|-")]
        input: String,
        /// Also print resource usage (fuel, memory, time) as JSON on stderr.
        #[arg(long)]
        usage: bool,
    },
    /// Print the effective configuration as TOML.
    Config,
    /// List every stable outcome code and its meaning.
    Codes,
}

/// Parse arguments and run. Returns the process exit code.
pub fn main() -> ExitCode {
    init_tracing();
    let cli = Cli::parse();
    let data_dir = cli
        .data_dir
        .clone()
        .unwrap_or_else(crate::data_dir::default_path);
    let config = match load_config(cli.config.as_deref(), &data_dir) {
        Ok(c) => c,
        Err(e) => return fail(&json!({ "code": codes::HOST_CONFIG, "message": e.to_string() })),
    };
    match cli.command {
        Command::Config => {
            print!("{}", config.to_toml());
            ExitCode::SUCCESS
        }
        Command::Codes => {
            for (code, meaning) in codes::ALL {
                println!("{code}\t{meaning}");
            }
            ExitCode::SUCCESS
        }
        Command::Run {
            module,
            input,
            usage,
        } => run(&config, &data_dir, &module, &input, usage),
    }
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

fn load_config(
    explicit: Option<&Path>,
    data_dir: &Path,
) -> Result<HostConfig, crate::config::ConfigError> {
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

fn run(
    config: &HostConfig,
    data_dir: &Path,
    module: &Path,
    input: &str,
    show_usage: bool,
) -> ExitCode {
    // Input first: bad input is refused before anything is compiled or
    // written to the data dir.
    let input = match input::read(input, config.limits.input_bytes) {
        Ok(i) => i,
        Err(e) => return fail(&e.to_json()),
    };
    if let Err(e) = crate::sandbox::check_input(&input, &config.limits) {
        return fail(&e.to_json());
    }
    let bytes = match std::fs::read(module) {
        Ok(b) => b,
        Err(e) => {
            return fail(&json!({
                "code": codes::HOST_IO,
                "message": format!("cannot read {}: {e}", module.display()),
            }));
        }
    };
    let engine = match SkillEngine::new(config, Some(data_dir)) {
        Ok(e) => e,
        Err(e) => return fail(&e.to_json()),
    };
    let skill = match engine.load(&bytes) {
        Ok(s) => s,
        Err(e) => return fail(&e.to_json()),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            return fail(
                &json!({ "code": codes::HOST_INTERNAL, "message": format!("cannot start runtime: {e}") }),
            );
        }
    };
    let report = runtime.block_on(skill.invoke(&input, &config.limits));
    print_logs(&report.logs);
    if show_usage {
        eprintln!(
            "{}",
            json!({ "usage": report.usage, "digest": skill.digest() })
        );
    }
    match report.result {
        Ok(output) => {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{output}");
            ExitCode::SUCCESS
        }
        Err(e) => fail(&e.to_json()),
    }
}

fn print_logs(logs: &[LogRecord]) {
    let mut err = std::io::stderr().lock();
    for r in logs {
        let level = serde_json::to_value(r.level).unwrap_or_default();
        let source = serde_json::to_value(r.source).unwrap_or_default();
        let _ = writeln!(
            err,
            "skill {} [{}]: {}",
            level.as_str().unwrap_or("?"),
            source.as_str().unwrap_or("?"),
            r.message.escape_debug()
        );
    }
}

/// Print a JSON error on stderr (one line) and return exit status 1.
fn fail(error: &serde_json::Value) -> ExitCode {
    eprintln!("{error}");
    ExitCode::FAILURE
}
