//! One module per subcommand; each returns a [`Report`] (or streams
//! records) and this module prints it.

mod acl;
mod cluster;
mod consume;
mod group;
mod group_members;
mod offsets;
mod produce;
mod schema;
mod topic;
mod user;

use std::io::Write;

use crate::args::{Command, KafkaArgs};
use crate::client::{Client, ConnectOptions};
use crate::error::{CliError, Result};
use crate::output::Report;

pub(crate) async fn run(command: Command) -> Result<()> {
    match command {
        Command::Topic { conn, action } => {
            let mut client = connect(&conn).await?;
            print(&conn, topic::run(&mut client, action).await?)
        }
        Command::Produce(args) => {
            let mut client = connect(&args.conn).await?;
            produce::run(&mut client, *args).await
        }
        Command::Consume(args) => {
            let mut client = connect(&args.conn).await?;
            consume::run(&mut client, *args).await
        }
        Command::Group { conn, action } => {
            let mut client = connect(&conn).await?;
            print(&conn, group::run(&mut client, action).await?)
        }
        Command::Schema { registry, action } => {
            let format = registry.output.output;
            let report = schema::run(&registry, action).await?;
            write_stdout(&report.render(format))
        }
        Command::Acl { conn, action } => {
            let mut client = connect(&conn).await?;
            print(&conn, acl::run(&mut client, action).await?)
        }
        Command::User { conn, action } => {
            let mut client = connect(&conn).await?;
            print(&conn, user::run(&mut client, action).await?)
        }
        Command::Cluster { conn, action } => {
            let mut client = connect(&conn).await?;
            print(&conn, cluster::run(&mut client, action).await?)
        }
    }
}

async fn connect(args: &KafkaArgs) -> Result<Client> {
    Client::connect(ConnectOptions::from_args(args)?).await
}

fn print(args: &KafkaArgs, report: Report) -> Result<()> {
    write_stdout(&report.render(args.output.output))
}

fn write_stdout(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{text}")
        .and_then(|()| out.flush())
        .map_err(|e| CliError::io("write to stdout", e))
}

/// `key=value` of a flag (`--config`, `--set`, `--header`).
pub(crate) fn split_key_value(item: &str, flag: &str) -> Result<(String, String)> {
    item.split_once('=')
        .filter(|(k, _)| !k.is_empty())
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .ok_or_else(|| CliError::usage(format!("{flag} {item:?}: expected key=value")))
}
