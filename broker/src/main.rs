//! `strata`: start the broker with the effective configuration, or run
//! one of the command-line subcommands (`strata topic list`, ...).

use clap::Parser;
use strata_broker::config::{BrokerConfig, Cli, LogFormat};
use tracing_subscriber::EnvFilter;

/// mimalloc instead of glibc's malloc. A large read (a 32 MB Fetch for a
/// REST consumer, its 45 MB JSON answer) allocates tens of megabytes that
/// are freed as soon as the answer is sent; glibc hands such blocks back to
/// the kernel (mmap, heap trimming), so the next read faults every page in
/// again: a third of the proxy's CPU in a profile of binary reads went to
/// page faults and zeroing. mimalloc keeps freed pages for reuse.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let mut cli = Cli::parse();
    if let Some(command) = cli.command.take() {
        return strata_cli::run(command);
    }
    let logs = tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_new(&cli.log).unwrap_or_else(|_| EnvFilter::new("info")))
        .with_writer(std::io::stderr);
    match cli.log_format {
        LogFormat::Text => logs.init(),
        // Fields at the top level and the span the event happened in, as
        // log shippers index them.
        LogFormat::Json => logs
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .init(),
    }
    let config = match BrokerConfig::from_cli(&cli) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("strata: invalid configuration: {e:#}");
            return std::process::ExitCode::from(2);
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    match runtime.block_on(strata_broker::run(config)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("strata: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
