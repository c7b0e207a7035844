//! `umbra`: the command-line tool of the umbra network.
//!
//! Argument parsing and dispatch only; the work happens in the library
//! crates. Every failure prints one line, `Error: <reason>`, on stderr and
//! exits with status 1 (usage errors: status 2, from clap).

mod key;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// umbra: confidential smart contracts on a Substrate-compatible chain.
#[derive(Parser)]
#[command(name = "umbra", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Generate, inspect and use keys (compatible with Substrate's `subkey`).
    #[command(subcommand)]
    Key(key::KeyCommand),
}

/// A failure to report to the user: one line, no secrets.
#[derive(Debug)]
pub(crate) struct CliError(String);

impl CliError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        CliError(message.into())
    }
}

impl<E: std::error::Error> From<E> for CliError {
    fn from(e: E) -> Self {
        CliError(e.to_string())
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Key(cmd) => key::run(cmd),
    };
    match result {
        Ok(output) => {
            if !output.is_empty() {
                println!("{output}");
            }
            ExitCode::SUCCESS
        }
        Err(CliError(message)) => {
            // One line, whatever the error text contains.
            eprintln!("Error: {}", message.replace('\n', " "));
            ExitCode::FAILURE
        }
    }
}
