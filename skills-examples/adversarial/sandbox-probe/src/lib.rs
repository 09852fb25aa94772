//! Adversarial: looks for every way out of the sandbox that WASI could offer
//! and reports what it found. A locked-down host leaves all of it empty or
//! refused.
use std::io::Read;

use serde_json::{Value, json};
use skillhost_sdk::{Manifest, Skill, SkillError};

fn outcome<T, E: std::fmt::Display>(r: Result<T, E>) -> Value {
    match r {
        Ok(_) => json!("allowed"),
        Err(e) => json!(format!("refused: {e}")),
    }
}

struct SandboxProbe;

impl Skill for SandboxProbe {
    type Input = Value;
    type Output = Value;
    const MANIFEST: Manifest = Manifest::new(
        "sandbox-probe",
        env!("CARGO_PKG_VERSION"),
        "Reports which ambient capabilities the sandbox exposes.",
    );

    fn invoke(_: Value) -> Result<Value, SkillError> {
        let mut stdin = String::new();
        let stdin_read = std::io::stdin().read_to_string(&mut stdin);
        Ok(json!({
            "env_vars": std::env::vars_os().count(),
            "args": std::env::args_os().count(),
            "cwd": std::env::current_dir().map(|p| p.display().to_string()).unwrap_or_default(),
            "read_root_dir": outcome(std::fs::read_dir("/")),
            "read_dot_dir": outcome(std::fs::read_dir(".")),
            "read_etc_passwd": outcome(std::fs::read("/etc/passwd")),
            "write_file": outcome(std::fs::write("escape.txt", b"x")),
            "tcp_connect": outcome(std::net::TcpStream::connect("127.0.0.1:22")),
            "tcp_listen": outcome(std::net::TcpListener::bind("127.0.0.1:0")),
            "udp_bind": outcome(std::net::UdpSocket::bind("127.0.0.1:0")),
            "dns_lookup": outcome(std::net::ToSocketAddrs::to_socket_addrs(&("localhost", 80))),
            "stdin_bytes": stdin.len(),
            "stdin_read": outcome(stdin_read),
        }))
    }
}

skillhost_sdk::export_skill!(SandboxProbe);
