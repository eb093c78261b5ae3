//! Where the WebUI is and how to log in; the password never prints.

pub use upseed_core::Password;

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
