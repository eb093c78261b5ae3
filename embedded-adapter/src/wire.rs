//! The local socket's protocol: one JSON request per line, one JSON
//! reply per line, mirroring [`TorrentClient`](upseed_core::TorrentClient)
//! call for call.

use base64::Engine as _;
use upseed_core::{AddTorrent, ClientError, ClientKind, InfoHash, Metainfo, Source};

/// One call.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
#[serde(tag = "call", rename_all = "snake_case")]
pub(crate) enum Request {
    Info,
    Add {
        torrents: Vec<WireAdd>,
    },
    List {
        hashes: Option<Vec<InfoHash>>,
    },
    Remove {
        hashes: Vec<InfoHash>,
        delete_data: bool,
    },
    AddTags {
        hashes: Vec<InfoHash>,
        tags: Vec<String>,
    },
    RemoveTags {
        hashes: Vec<InfoHash>,
        tags: Vec<String>,
    },
    QueueReport,
    Metainfo {
        hash: InfoHash,
    },
    AnnounceNow {
        hashes: Vec<InfoHash>,
    },
    ForceStart {
        hashes: Vec<InfoHash>,
    },
    SubscribeRss {
        url: String,
        name: String,
    },
    AnyTorrent {
        hash: InfoHash,
    },
    Claim {
        hash: InfoHash,
        tags: Vec<String>,
    },
    CompletionHook,
    SetCompletionHook {
        program: String,
    },
}

/// A torrent to add: .torrent bytes in base64, or a magnet link.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub(crate) struct WireAdd {
    infohash: InfoHash,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    torrent: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    magnet: Option<String>,
    save_path: String,
    tags: Vec<String>,
    data_present: bool,
}

impl From<&AddTorrent> for WireAdd {
    fn from(add: &AddTorrent) -> Self {
        let (torrent, magnet) = match &add.source {
            Source::Torrent(bytes) => (Some(encode(bytes)), None),
            Source::Magnet(magnet) => (None, Some(magnet.to_string())),
        };
        Self {
            infohash: add.infohash,
            torrent,
            magnet,
            save_path: add.save_path.clone(),
            tags: add.tags.clone(),
            data_present: add.data_present,
        }
    }
}

impl TryFrom<WireAdd> for AddTorrent {
    type Error = ClientError;

    fn try_from(add: WireAdd) -> Result<Self, ClientError> {
        let source = match (add.torrent, add.magnet) {
            (Some(torrent), None) => Source::Torrent(decode(&torrent)?),
            (None, Some(magnet)) => Source::Magnet(magnet.parse().map_err(|e| {
                ClientError::Invalid(format!("the engine was sent a bad magnet link: {e}"))
            })?),
            _ => {
                return Err(ClientError::Invalid(
                    "the engine was sent a torrent with neither bytes nor a magnet link".into(),
                ));
            }
        };
        Ok(Self {
            infohash: add.infohash,
            source,
            save_path: add.save_path,
            tags: add.tags,
            data_present: add.data_present,
        })
    }
}

/// One answer.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Reply {
    Ok(serde_json::Value),
    Err(WireError),
}

/// A [`ClientError`] on the wire: its kind where the caller acts on it,
/// and always its whole message.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub(crate) struct WireError {
    kind: String,
    message: String,
    #[serde(default)]
    infohash: Option<InfoHash>,
    #[serde(default)]
    reason: Option<String>,
}

impl From<ClientError> for WireError {
    fn from(error: ClientError) -> Self {
        let message = error.to_string();
        match error {
            ClientError::Rejected {
                infohash, reason, ..
            } => Self {
                kind: "rejected".into(),
                message,
                infohash: Some(infohash),
                reason: Some(reason),
            },
            _ => Self {
                kind: "other".into(),
                message,
                infohash: None,
                reason: None,
            },
        }
    }
}

impl From<WireError> for ClientError {
    fn from(error: WireError) -> Self {
        match (error.kind.as_str(), error.infohash, error.reason) {
            ("rejected", Some(infohash), Some(reason)) => ClientError::Rejected {
                client: ClientKind::Embedded,
                infohash,
                reason,
            },
            _ => ClientError::Invalid(error.message),
        }
    }
}

/// Metainfo as the wire carries it.
pub(crate) fn metainfo_out(metainfo: Option<Metainfo>) -> Option<String> {
    metainfo.map(|m| match m {
        Metainfo::Bytes(bytes) => encode(&bytes),
        // The engine always returns bytes; a path would mean nothing to
        // another process anyway.
        Metainfo::File(_) => String::new(),
    })
}

/// Metainfo back from the wire.
pub(crate) fn metainfo_in(text: Option<String>) -> Result<Option<Metainfo>, ClientError> {
    text.filter(|t| !t.is_empty())
        .map(|t| decode(&t).map(Metainfo::Bytes))
        .transpose()
}

fn encode(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn decode(text: &str) -> Result<Vec<u8>, ClientError> {
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|e| ClientError::Invalid(format!("the engine's socket carried bad base64: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rejection_keeps_its_kind_across_the_wire() {
        let hash: InfoHash = "c".repeat(40).parse().unwrap();
        let error = ClientError::Rejected {
            client: ClientKind::Embedded,
            infohash: hash,
            reason: "bad".into(),
        };
        let text = serde_json::to_string(&Reply::Err(error.clone().into())).unwrap();
        let Reply::Err(back) = serde_json::from_str(&text).unwrap() else {
            panic!("{text}");
        };
        assert_eq!(ClientError::from(back), error);
        let other = ClientError::Invalid("the save path is not absolute".into());
        let back: ClientError = WireError::from(other.clone()).into();
        assert_eq!(back.to_string(), other.to_string());
    }

    #[test]
    fn adds_cross_the_wire_whole() {
        let magnet: upseed_core::Magnet = format!("magnet:?xt=urn:btih:{}", "d".repeat(40))
            .parse()
            .unwrap();
        let add = AddTorrent::from_magnet(magnet, "/srv/x").with_tags(["upseed-read"]);
        let back = AddTorrent::try_from(WireAdd::from(&add)).unwrap();
        assert_eq!(back, add);
        let bytes = AddTorrent {
            source: Source::Torrent(vec![0, 1, 255]),
            ..add.clone()
        }
        .with_data_present();
        let back = AddTorrent::try_from(WireAdd::from(&bytes)).unwrap();
        assert_eq!(back, bytes);
    }
}
