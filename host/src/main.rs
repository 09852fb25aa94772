//! The `skillhost` command: the owner's and the agent's command line. It is
//! a client of the library's one door ([`skillhost::Host`]) like any
//! embedder, with no way past it.

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
