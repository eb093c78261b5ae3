//! Progress bars for long work: on a terminal's standard error only, and
//! never when the output is a JSON summary.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

/// Whether long work shows bars.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    enabled: bool,
}

impl Progress {
    /// Bars when `wanted` and standard error is a terminal.
    pub fn new(wanted: bool) -> Self {
        Self {
            enabled: wanted && std::io::stderr().is_terminal(),
        }
    }

    /// No bars at all.
    pub const fn hidden() -> Self {
        Self { enabled: false }
    }

    /// A bar over `len` steps, labelled `what`.
    pub fn bar(&self, len: usize, what: &str) -> ProgressBar {
        self.make(
            ProgressBar::new(len as u64),
            &format!("{{spinner}} {what} {{pos}}/{{len}} [{{elapsed}}] {{msg}}"),
        )
    }

    /// A spinner for work of unknown length, labelled `what`.
    pub fn spinner(&self, what: &str) -> ProgressBar {
        self.make(
            ProgressBar::new_spinner(),
            &format!("{{spinner}} {what} [{{elapsed}}] {{msg}}"),
        )
    }

    fn make(&self, bar: ProgressBar, template: &str) -> ProgressBar {
        if !self.enabled {
            return ProgressBar::hidden();
        }
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style);
        }
        bar.enable_steady_tick(Duration::from_millis(120));
        bar
    }
}
