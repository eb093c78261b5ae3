//! The node's events on a terminal: progress bars on standard error (only
//! when it is a terminal, and never when the output is a JSON summary),
//! warnings as `warning:` lines, and with `-v` each step as a line.

use std::collections::HashMap;
use std::io::Write;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use upseed_node::{Event, Events};

use crate::env::Stream;

/// How much a command says on standard error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verbosity {
    /// `-q`: errors only.
    Quiet,
    /// Progress on a terminal, and warnings.
    Normal,
    /// `-v`: also each step of long work as a line, and debug logs.
    Verbose,
}

impl Verbosity {
    /// From the `-v` count and `-q`.
    pub fn from_flags(verbose: u8, quiet: bool) -> Self {
        match (quiet, verbose) {
            (true, _) => Self::Quiet,
            (false, 0) => Self::Normal,
            (false, _) => Self::Verbose,
        }
    }

    /// The daemon's log level.
    pub fn log_level(self) -> tracing::Level {
        match self {
            Self::Quiet => tracing::Level::WARN,
            Self::Normal => tracing::Level::INFO,
            Self::Verbose => tracing::Level::DEBUG,
        }
    }
}

/// Events that draw bars when `bars`, and print warnings to `err`, as
/// `verbosity` allows.
pub fn events(err: Stream, bars: bool, verbosity: Verbosity) -> Events {
    let bars = bars && verbosity != Verbosity::Quiet;
    let lines = verbosity == Verbosity::Verbose && !bars;
    let names: Mutex<HashMap<u64, String>> = Mutex::new(HashMap::new());
    let open: Mutex<HashMap<u64, ProgressBar>> = Mutex::new(HashMap::new());
    Events::new(move |event| {
        let mut open = open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if lines {
            let mut names = names
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let line = match &event {
                Event::Started { id, task, .. } => {
                    names.insert(*id, task.to_string());
                    Some(format!("{task}…"))
                }
                Event::Status { id, text } => names.get(id).map(|t| format!("{t}: {text}")),
                Event::Finished { id } => names.remove(id).map(|t| format!("{t}: done")),
                _ => None,
            };
            if let Some(line) = line {
                let _ = writeln!(err.clone(), "{}", crate::render::clean(&line));
            }
        }
        match event {
            Event::Warning(_) if verbosity == Verbosity::Quiet => {}
            Event::Warning(warning) => {
                let text = crate::render::clean(&warning.to_string());
                let _ = writeln!(err.clone(), "warning: {text}");
            }
            Event::Started { id, task, total } if bars => {
                let (bar, template) = match total {
                    Some(len) => (
                        ProgressBar::new(len),
                        format!("{{spinner}} {task} {{pos}}/{{len}} [{{elapsed}}] {{msg}}"),
                    ),
                    None => (
                        ProgressBar::new_spinner(),
                        format!("{{spinner}} {task} [{{elapsed}}] {{msg}}"),
                    ),
                };
                if let Ok(style) = ProgressStyle::with_template(&template) {
                    bar.set_style(style);
                }
                bar.enable_steady_tick(Duration::from_millis(120));
                open.insert(id, bar);
            }
            Event::Advanced { id, by } => {
                if let Some(bar) = open.get(&id) {
                    bar.inc(by);
                }
            }
            Event::Status { id, text } => {
                if let Some(bar) = open.get(&id) {
                    bar.set_message(text);
                }
            }
            Event::Finished { id } => {
                if let Some(bar) = open.remove(&id) {
                    bar.finish_and_clear();
                }
            }
            _ => {}
        }
    })
}
