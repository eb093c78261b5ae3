//! Passwords for client APIs: never printed, zeroed on drop.

use std::fmt;

use zeroize::Zeroizing;

/// A password that `Debug` never shows and memory does not keep.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(Zeroizing<String>);

impl Password {
    /// Wraps a password read from an environment variable or a file.
    pub fn new(password: impl Into<String>) -> Self {
        Self(Zeroizing::new(password.into()))
    }

    /// The password itself, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted() {
        let shown = format!(
            "{:?} {:#?}",
            Password::new("hunter2"),
            Some(Password::new("hunter2"))
        );
        assert!(!shown.contains("hunter2"), "{shown}");
    }
}
