//! `skillhost invoke` (approved skills by name) and `skillhost dev` (a local
//! module through a throw-away registry).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use serde_json::json;

use super::{Context, fail, input, print, runtime};
use skillhost::Invocation;
use skillhost::Narrowing;
use skillhost::codes;
use skillhost::{Caller, Host};

#[derive(Debug, Args)]
pub struct InvokeArgs {
    /// The skill's name.
    pub name: String,
    /// JSON input: inline JSON, @FILE to read a file, or - for stdin.
    #[arg(long, short, value_name = "JSON|@FILE|-")]
    pub input: String,
    /// Also print resource usage (fuel, memory, time) as JSON on stderr.
    #[arg(long)]
    pub usage: bool,
}

#[derive(Debug, Args)]
pub struct DevArgs {
    /// The skill component (.wasm, built for wasm32-wasip2).
    pub module: PathBuf,
    /// JSON input: inline JSON, @FILE to read a file, or - for stdin.
    #[arg(long, short, value_name = "JSON|@FILE|-")]
    pub input: String,
    /// Also print resource usage (fuel, memory, time) as JSON on stderr.
    #[arg(long)]
    pub usage: bool,
}

/// Read `--input` before anything else happens (`dev`: the host is
/// in memory, so a refusal needs no durable record; the pipeline checks
/// the input's size and syntax as always).
fn read_input(ctx: &Context, arg: &str) -> Result<String, ExitCode> {
    input::read(arg, ctx.config.limits.input_bytes).map_err(|e| fail(&e.to_json()))
}

fn finish(invocation: Invocation, show_usage: bool) -> ExitCode {
    print::logs(&invocation.logs);
    if show_usage {
        eprintln!("{}", json!({ "usage": invocation.usage }));
    }
    match invocation.result {
        Ok(output) => {
            let _ = writeln!(std::io::stdout().lock(), "{output}");
            ExitCode::SUCCESS
        }
        Err(e) => fail(&e.to_json()),
    }
}

/// Invoke an approved skill. Every refusal is the host's, and audited: the
/// input goes to the checker pipeline as it is (which refuses input that is
/// not JSON), and input that could not be taken in whole (over the cap, or
/// not UTF-8) is refused through the host's audited path, as the HTTP API
/// does. Only input that cannot be read at all (a missing file) stops here.
pub fn invoke(ctx: &Context, args: InvokeArgs) -> ExitCode {
    let input = match input::read(&args.input, ctx.config.limits.input_bytes) {
        Ok(text) => Ok(text),
        Err(e) => match e.refusal() {
            Ok(refusal) => Err(refusal),
            Err(_) => return fail(&e.to_json()),
        },
    };
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    let result = rt.block_on(async {
        let host = Host::open(ctx.config.clone(), &ctx.data_dir).await?;
        let caller = Caller::local(&ctx.actor);
        match input {
            Ok(input) => host.invoke(&args.name, &input, &caller).await,
            Err(refusal) => Err(host.refuse_invocation(&args.name, &caller, refusal).await),
        }
    });
    match result {
        Ok(invocation) => finish(invocation, args.usage),
        Err(e) => fail(&e.to_json()),
    }
}

pub fn dev(ctx: &Context, args: DevArgs) -> ExitCode {
    let input = match read_input(ctx, &args.input) {
        Ok(i) => i,
        Err(code) => return code,
    };
    let bytes = match std::fs::read(&args.module) {
        Ok(b) => b,
        Err(e) => {
            return fail(&json!({
                "code": codes::HOST_IO,
                "message": format!("cannot read {}: {e}", args.module.display()),
            }));
        }
    };
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    let cache = ctx
        .config
        .engine
        .artifact_cache
        .then_some(ctx.data_dir.as_path());
    let host = match Host::ephemeral(ctx.config.clone(), cache) {
        Ok(h) => h,
        Err(e) => return fail(&e.to_json()),
    };
    super::large_module_notice(bytes.len());
    let added = match rt.block_on(host.add(&bytes, &ctx.actor)) {
        Ok(a) => a,
        Err(e) => return fail(&e.to_json()),
    };
    let version = added.version();
    eprint!("{}", print::review(version));
    eprintln!("dev: approving everything requested, for this process only");
    let name = version.name.to_string();
    if let Err(e) =
        rt.block_on(host.approve(&name, &version.digest, &Narrowing::default(), &ctx.actor))
    {
        return fail(&e.to_json());
    }
    match rt.block_on(host.invoke(&name, &input, &Caller::local(&ctx.actor))) {
        Ok(invocation) => finish(invocation, args.usage),
        Err(e) => fail(&e.to_json()),
    }
}
