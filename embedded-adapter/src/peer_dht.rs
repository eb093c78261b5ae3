//! Finding peers with no tracker: the engine's own mainline DHT node,
//! which announces what the engine seeds (BEP 5 `announce_peer`) and
//! looks up who seeds a magnet link (`get_peers`), handing those peers to
//! librqbit. librqbit's own DHT is off: its queries carry two-byte
//! transaction ids, which mainline's nodes drop, so it could not join a
//! network that mainline's nodes make up (such as a test network).

use std::collections::BTreeSet;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use futures_util::StreamExt;
use mainline::async_dht::AsyncDht;
use upseed_core::InfoHash;

use crate::config::DhtConfig;
use crate::error::EngineError;

/// How many announces run at once: a restart that re-announces ten
/// thousand posts does so a few at a time.
const ANNOUNCES_AT_ONCE: usize = 16;

/// The engine's DHT node.
#[derive(Debug, Clone)]
pub(crate) struct PeerDht {
    dht: AsyncDht,
    gate: std::sync::Arc<tokio::sync::Semaphore>,
}

impl PeerDht {
    /// Joins the DHT through `config`'s bootstrap nodes, bound to `bind`
    /// when it is a specific address.
    pub(crate) fn start(config: &DhtConfig, bind: Option<Ipv4Addr>) -> Result<Self, EngineError> {
        let mut builder = mainline::Dht::builder();
        if !config.bootstrap.is_empty() {
            builder.bootstrap(&config.bootstrap);
        }
        if config.port != 0 {
            builder.port(config.port);
        }
        if let Some(ip) = bind {
            builder.bind_address(ip);
        }
        let dht = builder.build().map_err(|e| match e.kind() {
            std::io::ErrorKind::AddrInUse => EngineError::PortInUse { port: config.port },
            _ => EngineError::Start {
                reason: format!("cannot start the engine's DHT node: {e}"),
            },
        })?;
        Ok(Self {
            dht: dht.as_async(),
            gate: std::sync::Arc::new(tokio::sync::Semaphore::new(ANNOUNCES_AT_ONCE)),
        })
    }

    /// Peers the DHT knows for `hash`: the first that answer, or none
    /// within `within`.
    pub(crate) async fn peers(&self, hash: InfoHash, within: Duration) -> Vec<SocketAddr> {
        let mut stream = self.dht.get_peers(id(hash));
        let mut found = BTreeSet::new();
        let deadline = tokio::time::Instant::now() + within;
        while let Ok(Some(batch)) = tokio::time::timeout_at(deadline, stream.next()).await {
            found.extend(batch);
            if !found.is_empty() {
                break;
            }
        }
        found.into_iter().map(SocketAddr::V4).collect()
    }

    /// Tells the DHT that this engine serves `hash` on `port`.
    pub(crate) async fn announce(&self, hash: InfoHash, port: u16) {
        let Ok(_permit) = self.gate.acquire().await else {
            return;
        };
        if let Err(error) = self.dht.announce_peer(id(hash), Some(port)).await {
            tracing::debug!(%hash, %error, "a DHT announce failed; the next round retries");
        }
    }
}

fn id(hash: InfoHash) -> mainline::Id {
    mainline::Id::from_bytes(hash.as_bytes()).unwrap_or_else(|_| mainline::Id::random())
}
