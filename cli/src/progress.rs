//! The node's events on a terminal: progress bars on standard error (only
//! when it is a terminal, and never when the output is a JSON summary),
//! and warnings as `warning:` lines.

use std::collections::HashMap;
use std::io::Write;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use upseed_node::{Event, Events};

use crate::env::Stream;

/// Events that draw bars when `bars`, and print warnings to `err`.
pub fn events(err: Stream, bars: bool) -> Events {
    let open: Mutex<HashMap<u64, ProgressBar>> = Mutex::new(HashMap::new());
    Events::new(move |event| {
        let mut open = open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match event {
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
