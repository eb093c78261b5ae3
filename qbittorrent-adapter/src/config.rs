//! Where the WebUI is and how to log in; the password never prints.

use std::fmt;

use zeroize::Zeroizing;

/// A password that `Debug` and `Display` never show, zeroed on drop.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(Zeroizing<String>);

impl Password {
    /// Wraps a password read from an environment variable or a file.
    pub fn new(password: impl Into<String>) -> Self {
        Self(Zeroizing::new(password.into()))
    }

    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// How to reach one qBittorrent WebUI.
#[derive(Debug, Clone)]
pub struct Config {
    /// The WebUI's base URL, such as `http://127.0.0.1:8080/`.
    pub url: url::Url,
    /// The WebUI user name.
    pub username: String,
    /// The password; `None` when qBittorrent bypasses authentication for
    /// this host ("Bypass authentication for clients on localhost").
    pub password: Option<Password>,
    /// The category every upseed torrent is added to and listed by.
    pub category: String,
}

impl Config {
    /// A config for `url` with the default category `upseed`.
    pub fn new(url: url::Url, username: impl Into<String>, password: Option<Password>) -> Self {
        Self {
            url,
            username: username.into(),
            password,
            category: "upseed".to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_password() {
        let config = Config::new(
            "http://127.0.0.1:8080/".parse().unwrap(),
            "admin",
            Some(Password::new("hunter2-secret")),
        );
        let shown = format!("{config:?} {config:#?}");
        assert!(!shown.contains("hunter2-secret"), "{shown}");
        assert!(shown.contains("<redacted>"));
    }
}
