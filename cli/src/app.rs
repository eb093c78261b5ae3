//! Argument parsing, dispatch, output and exit codes.

use crate::keyfile;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use upseed_core::{Kind, Record, Torrent, VerifyError};

/// Exit code for input that is not a valid upseed record (`EX_DATAERR`).
const EXIT_INVALID: u8 = 65;

/// A text-only social network on the BitTorrent client you already run.
#[derive(Debug, Parser)]
#[command(name = "upseed", version, about, max_term_width = 100)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create or show your identity (an ed25519 key pair).
    #[command(subcommand)]
    Key(KeyCommand),
    /// Verify a post or comment torrent and print it.
    Inspect {
        /// The .torrent file.
        torrent: PathBuf,
        /// The body file, to check it against the signed hash and pieces.
        #[arg(long)]
        body: Option<PathBuf>,
        /// Print one JSON document (schema: docs/schema/record.schema.json).
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
enum KeyCommand {
    /// Create a new identity. Refuses to overwrite an existing one.
    New {
        /// Where the secret key goes [default: $UPSEED_HOME/identity.key].
        #[arg(long, value_name = "PATH")]
        key: Option<PathBuf>,
    },
    /// Print the public key to share with others.
    Show {
        /// The secret key file [default: $UPSEED_HOME/identity.key].
        #[arg(long, value_name = "PATH")]
        key: Option<PathBuf>,
    },
}

/// `$UPSEED_HOME`, else `$XDG_CONFIG_HOME/upseed`, else `~/.config/upseed`.
fn home() -> Result<PathBuf> {
    if let Some(home) = std::env::var_os("UPSEED_HOME") {
        return Ok(PathBuf::from(home));
    }
    if let Some(config) = std::env::var_os("XDG_CONFIG_HOME") {
        return Ok(PathBuf::from(config).join("upseed"));
    }
    let home = std::env::var_os("HOME")
        .context("set UPSEED_HOME or HOME so upseed knows where its files go")?;
    Ok(PathBuf::from(home).join(".config/upseed"))
}

fn key_path(key: Option<PathBuf>) -> Result<PathBuf> {
    key.map_or_else(|| Ok(home()?.join("identity.key")), Ok)
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn print_record(record: &Record) {
    let kind = match record.kind() {
        Kind::Post => "post",
        Kind::Comment => "comment",
    };
    println!("{kind} {}", record.infohash());
    println!("author    {}", record.author());
    println!("created   {} (unix seconds)", record.created());
    if let Some(title) = record.title() {
        println!("title     {}", title.as_str());
    }
    if let Some(community) = record.community() {
        println!("community {community}");
    }
    if let (Some(parent), Some(root)) = (record.parent(), record.root()) {
        println!("parent    {parent}");
        println!("root      {root}");
    }
    println!("file      {} ({} bytes)", record.name(), record.length());
    match record.body() {
        Some(body) => println!("\n{}", body.as_str()),
        None => println!("body      not checked (pass --body FILE)"),
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Key(KeyCommand::New { key }) => {
            let path = key_path(key)?;
            let secret = upseed_core::SecretKey::generate()?;
            keyfile::create(&path, &secret)?;
            println!("{}", secret.public_key());
            eprintln!(
                "saved your secret key to {} (mode 0600); back it up",
                path.display()
            );
        }
        Command::Key(KeyCommand::Show { key }) => {
            println!("{}", keyfile::load(&key_path(key)?)?.public_key());
        }
        Command::Inspect {
            torrent,
            body,
            json,
        } => {
            let bytes = std::fs::read(&torrent)
                .with_context(|| format!("cannot read {}", torrent.display()))?;
            let mut record = Torrent::parse(&bytes, now())
                .with_context(|| format!("{} is not a valid upseed record", torrent.display()))?
                .record;
            if let Some(path) = body {
                let text = std::fs::read(&path)
                    .with_context(|| format!("cannot read {}", path.display()))?;
                record = record
                    .with_body(&text)
                    .with_context(|| format!("{} does not match the record", path.display()))?;
            }
            if json {
                println!("{}", serde_json::to_string_pretty(&record.to_json())?);
            } else {
                print_record(&record);
            }
        }
    }
    Ok(())
}

/// Runs the command line and returns its exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            if error.chain().any(|e| e.is::<VerifyError>()) {
                ExitCode::from(EXIT_INVALID)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}
