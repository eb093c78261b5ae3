//! Holding the embedded engine: `upseed daemon` and `upseed serve` start
//! it in process and answer on its local socket; every other command
//! reaches it there (see ARCHITECTURE.md, "The embedded engine").

use anyhow::Result;
use upseed_core::ClientKind;
use upseed_node::{Config, Home};

/// The engine this process holds, answering on its socket while kept.
#[cfg(feature = "embedded")]
#[derive(Debug)]
pub(crate) struct Held {
    /// The engine.
    pub(crate) engine: upseed_embedded::Embedded,
    _serving: upseed_embedded::Serving,
}

/// The engine this process holds: none, in a build without it.
#[cfg(not(feature = "embedded"))]
#[derive(Debug)]
pub(crate) struct Held;

/// The engine's folder in the user's data folder.
#[cfg(feature = "embedded")]
pub(crate) fn dir(home: &Home) -> std::path::PathBuf {
    home.data.join("engine")
}

/// Starts the engine when the config names it, unless another process
/// already holds it (then this one hands its work there, as any command
/// does). `None` for other clients.
#[cfg(feature = "embedded")]
pub(crate) async fn hold(config: &Config, home: &Home) -> Result<Option<Held>> {
    use upseed_embedded::{DhtConfig, Embedded, EngineConfig, EngineError};
    if config.client.kind != ClientKind::Embedded {
        return Ok(None);
    }
    let ip = config
        .engine
        .bind
        .unwrap_or(std::net::Ipv4Addr::UNSPECIFIED.into());
    let mut engine = EngineConfig::new(dir(home));
    engine.listen = std::net::SocketAddr::new(ip, config.engine.port);
    engine.dht = config.dht.enabled.then(|| DhtConfig {
        port: config.engine.dht_port,
        bootstrap: config.dht.bootstrap.clone(),
    });
    engine.gate = Some(std::sync::Arc::new(gate));
    let engine = match Embedded::start(engine).await {
        Ok(engine) => engine,
        Err(EngineError::Held { path }) => {
            tracing::info!(
                folder = %path.display(),
                "another upseed process holds the embedded engine; handing work to it"
            );
            return Ok(None);
        }
        Err(error) => return Err(error.into()),
    };
    tracing::info!(listen = ?engine.listen_addr(), "holding the embedded engine");
    let serving = upseed_embedded::serve(engine.clone())?;
    Ok(Some(Held {
        engine,
        _serving: serving,
    }))
}

/// In a build without the engine, a config that names it is refused.
#[cfg(not(feature = "embedded"))]
pub(crate) async fn hold(config: &Config, _home: &Home) -> Result<Option<Held>> {
    if config.client.kind == ClientKind::Embedded {
        return Err(upseed_node::Error::from(not_built()).into());
    }
    Ok(None)
}

/// The error for a config that names the engine in a build without it.
#[cfg(not(feature = "embedded"))]
pub(crate) fn not_built() -> upseed_core::ClientError {
    upseed_core::ClientError::Unsupported {
        client: ClientKind::Embedded,
        what: "run in this build of upseed",
        instead: "build upseed with its default features (cargo feature `embedded`), or set [client] kind to qbittorrent or transmission",
    }
}

/// Stops the engine, keeping its state for the next start.
pub(crate) async fn release(held: Option<&Held>) {
    #[cfg(feature = "embedded")]
    if let Some(held) = held {
        held.engine.stop().await;
    }
    #[cfg(not(feature = "embedded"))]
    let _ = held;
}

/// What the engine lets in once a magnet link's metadata arrives: one
/// file no larger than the largest thing upseed fetches (a mute list),
/// described by a metainfo no larger than upseed's. Everything else is
/// dropped before a byte of it is written.
#[cfg(feature = "embedded")]
fn gate(metainfo: &[u8]) -> Result<(), String> {
    use upseed_core::mute_list::MAX_MUTE_LIST_LEN;
    const MAX: u64 = MAX_MUTE_LIST_LEN as u64;
    if metainfo.len() > upseed_core::MAX_TORRENT_LEN {
        return Err(format!(
            "its metainfo is {} bytes, more than any upseed torrent's ({}); not fetched",
            metainfo.len(),
            upseed_core::MAX_TORRENT_LEN
        ));
    }
    match upseed_core::single_file(metainfo) {
        Some((_, length)) if length <= MAX => Ok(()),
        Some((_, length)) => Err(format!(
            "it holds {length} bytes, more than anything upseed fetches ({MAX}); not fetched"
        )),
        None => Err(
            "it is not a single-file torrent, as every upseed record is; not fetched".to_owned(),
        ),
    }
}

#[cfg(all(test, feature = "embedded"))]
mod tests {
    use super::*;

    #[test]
    fn the_gate_lets_records_in_and_keeps_large_or_multi_file_torrents_out() {
        let record = upseed_core::PostDraft::new("let in")
            .unwrap()
            .sign(&upseed_core::SecretKey::from_seed(&[3; 32]), 1)
            .unwrap();
        assert_eq!(gate(&record.torrent_bytes::<&str>(&[])), Ok(()));
        let big = b"d4:infod6:lengthi2000000e4:name3:big12:piece lengthi16384e6:pieces0:ee";
        assert!(gate(big).unwrap_err().contains("2000000 bytes"));
        let multi =
            b"d4:infod5:filesld6:lengthi1e4:pathl1:aeee4:name1:d12:piece lengthi16384e6:pieces0:ee";
        assert!(gate(multi).unwrap_err().contains("single-file"));
        assert!(gate(&vec![b'x'; 70_000]).unwrap_err().contains("metainfo"));
    }
}
