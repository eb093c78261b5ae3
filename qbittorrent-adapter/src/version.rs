//! The WebUI API version and the differences between releases 4.1 to 5.2.

use std::fmt;

/// A WebUI API version such as `2.8.19` (qBittorrent 4.5.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ApiVersion(pub u32, pub u32, pub u32);

impl ApiVersion {
    /// Parses the text of `/api/v2/app/webapiVersion`.
    pub fn parse(text: &str) -> Option<Self> {
        let mut parts = text.trim().split('.').map(|p| p.parse::<u32>().ok());
        let major = parts.next()??;
        let minor = parts.next().flatten().unwrap_or(0);
        let patch = parts.next().flatten().unwrap_or(0);
        Some(Self(major, minor, patch))
    }

    /// 5.0 (2.11.0) renamed pause/resume to stop/start; the old names give 404.
    pub fn stop_start(self) -> (&'static str, &'static str) {
        if self >= Self(2, 11, 0) {
            ("stop", "start")
        } else {
            ("pause", "resume")
        }
    }

    /// 5.2 (2.14.0) answers adds with JSON and 409 instead of `Ok.`/`Fails.`.
    pub fn json_add_response(self) -> bool {
        self >= Self(2, 14, 0)
    }

    /// `tags` in the add call arrived in 2.6.2.
    pub fn tags_on_add(self) -> bool {
        self >= Self(2, 6, 2)
    }

    /// `torrents/export` arrived in 4.5 (2.8.14).
    pub fn export(self) -> bool {
        self >= Self(2, 8, 14)
    }

    /// 4.6 (2.9.0) made incremental `sync/maindata` track changes instead of
    /// diffing whole listings, so it became cheaper than `torrents/info`.
    pub fn cheap_incremental_sync(self) -> bool {
        self >= Self(2, 9, 0)
    }
}

impl fmt::Display for ApiVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.0, self.1, self.2)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_gates_features() {
        let v452 = ApiVersion::parse("2.8.19\n").unwrap();
        assert_eq!(v452, ApiVersion(2, 8, 19));
        assert_eq!(v452.stop_start(), ("pause", "resume"));
        assert!(!v452.json_add_response() && v452.tags_on_add() && !v452.cheap_incremental_sync());
        let v50 = ApiVersion::parse("2.11.2").unwrap();
        assert_eq!(v50.stop_start(), ("stop", "start"));
        let v52 = ApiVersion::parse("2.15.1").unwrap();
        assert!(v52.json_add_response() && v52.cheap_incremental_sync());
        assert_eq!(ApiVersion::parse("2.2"), Some(ApiVersion(2, 2, 0)));
        assert_eq!(ApiVersion::parse("<html>"), None);
    }
}
