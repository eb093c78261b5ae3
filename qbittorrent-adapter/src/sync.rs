//! Incremental listing through `sync/maindata`: merge partial updates.
//!
//! The server keeps one change tracker per login session, numbered by `rid`.
//! A full update replaces everything; a partial one carries only changed
//! keys of changed torrents, plus the hashes removed since the last `rid`.

use std::collections::HashMap;

use serde_json::{Map, Value};

/// One `sync/maindata` answer, as far as torrents go.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub(crate) struct MainData {
    pub(crate) rid: u64,
    pub(crate) full_update: bool,
    pub(crate) torrents: HashMap<String, Map<String, Value>>,
    pub(crate) torrents_removed: Vec<String>,
}

/// What the session has merged so far.
#[derive(Debug, Default)]
pub(crate) struct SyncState {
    pub(crate) rid: u64,
    pub(crate) torrents: HashMap<String, Map<String, Value>>,
}

impl SyncState {
    /// Folds one answer in. Returns the hashes whose objects changed.
    pub(crate) fn merge(&mut self, data: MainData) -> Vec<String> {
        if data.full_update {
            self.torrents.clear();
        }
        self.rid = data.rid;
        for hash in &data.torrents_removed {
            self.torrents.remove(hash);
        }
        let changed: Vec<String> = data.torrents.keys().cloned().collect();
        for (hash, partial) in data.torrents {
            self.torrents.entry(hash).or_default().extend(partial);
        }
        changed
    }

    /// Forgets everything, as after a new login.
    pub(crate) fn reset(&mut self) {
        *self = Self::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(json: &str) -> MainData {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn partial_updates_merge_and_removals_apply() {
        let mut state = SyncState::default();
        state.merge(data(
            r#"{"rid":1,"full_update":true,"torrents":{"aa":{"name":"a","state":"stalledUP","progress":1},"bb":{"name":"b","state":"downloading"}}}"#,
        ));
        let changed = state.merge(data(
            r#"{"rid":2,"torrents":{"bb":{"state":"stalledUP"}},"torrents_removed":["aa"]}"#,
        ));
        assert_eq!(changed, vec!["bb"]);
        assert_eq!(state.rid, 2);
        assert!(!state.torrents.contains_key("aa"));
        assert_eq!(state.torrents["bb"]["name"], "b");
        assert_eq!(state.torrents["bb"]["state"], "stalledUP");
        state.merge(data(r#"{"rid":3,"full_update":true,"torrents":{}}"#));
        assert!(state.torrents.is_empty());
    }
}
