//! `upseed daemon`'s front end: logging to standard error, and signals
//! turned into the node's stop channel. SIGTERM or SIGINT gives the
//! current step half a second to finish, then cancels it and exits
//! cleanly; a second signal exits at once.

use anyhow::{Context, Result};
use tokio::sync::watch;
use tracing::{info, warn};

/// How the daemon logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LogFormat {
    /// One human-readable line per event.
    Text,
    /// One JSON object per line.
    Json,
}

/// Sends log events at `level` and above to standard error in `format`.
pub(crate) fn init_logging(format: LogFormat, level: tracing::Level) {
    let builder = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_max_level(level);
    // A second initialisation (tests) keeps the first.
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}

/// Listens for SIGTERM and SIGINT: the first asks for a clean stop, the
/// second exits at once.
pub(crate) fn signals() -> Result<watch::Receiver<bool>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?;
    let mut int = signal(SignalKind::interrupt()).context("cannot listen for SIGINT")?;
    let (tx, rx) = watch::channel(false);
    tokio::spawn(async move {
        let mut seen = 0;
        loop {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
            seen += 1;
            if seen == 1 {
                info!(
                    "stopping: the current step has half a second to finish; signal again to stop at once"
                );
                let _ = tx.send(true);
            } else {
                warn!("second signal: stopping now");
                std::process::exit(130);
            }
        }
    });
    Ok(rx)
}
