//! The `strata` command line beside the server: topics, records, consumer
//! groups, schemas, ACLs, users and the cluster, for Strata or any Kafka
//! cluster with a Confluent-compatible Schema Registry.
//!
//! It speaks the Kafka protocol through a small client of its own on
//! `kafka-protocol` ([`client`]), and the registry's REST API over HTTP.
//! Exit codes: 0 done, 1 the cluster or registry refused or could not be
//! reached (the Kafka error name and code on stderr), 2 a usage error.

mod args;
mod client;
mod commands;
mod error;
mod output;
mod records;
mod registry;

use std::io::Write;
use std::process::ExitCode;

pub use args::Command;
pub use error::{kafka_error_name, CliError};

/// Runs one subcommand to completion and returns the process exit code.
pub fn run(command: Command) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("strata: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(commands::run(command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(CliError::Io { source, .. }) if source.kind() == std::io::ErrorKind::BrokenPipe => {
            // stdout closed by `| head`: what was wanted was printed.
            ExitCode::SUCCESS
        }
        Err(e) => {
            let _ = std::io::stdout().flush();
            eprintln!("strata: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}
