//! What the embedded engine needs to start: its folder, its ports, its
//! DHT, and the gate every fetched torrent's metadata passes.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

/// Decides, from a torrent's metainfo alone, whether to fetch its data:
/// `Err` says why not. Called once a magnet link's metadata has arrived,
/// before anything is written to disk.
pub type Gate = Arc<dyn Fn(&[u8]) -> Result<(), String> + Send + Sync>;

/// How to start the engine.
#[derive(Clone)]
pub struct EngineConfig {
    /// The engine's own folder: the torrents it seeds, their tags, its lock
    /// and socket.
    pub state_dir: PathBuf,
    /// Where to listen for peers (TCP); port 0 picks any free one.
    pub listen: SocketAddr,
    /// The engine's DHT for finding peers, if any.
    pub dht: Option<DhtConfig>,
    /// Checks fetched metadata before any data is fetched.
    pub gate: Option<Gate>,
    /// How many torrents may be added at once.
    pub add_concurrency: usize,
}

/// The engine's peer DHT (BEP 5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DhtConfig {
    /// Its UDP port; 0 picks any free one.
    pub port: u16,
    /// `host:port` nodes to join through; empty: the mainline defaults.
    pub bootstrap: Vec<String>,
}

impl EngineConfig {
    /// An engine in `state_dir`, listening on any port of `127.0.0.1`
    /// with no DHT and no gate: what tests start from.
    pub fn new(state_dir: impl Into<PathBuf>) -> Self {
        Self {
            state_dir: state_dir.into(),
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            dht: None,
            gate: None,
            add_concurrency: 32,
        }
    }

    /// The local socket that one-shot commands reach the engine's holder by.
    pub fn socket(&self) -> PathBuf {
        socket_in(&self.state_dir)
    }
}

/// The socket of the engine whose state lives in `state_dir`.
pub fn socket_in(state_dir: &std::path::Path) -> PathBuf {
    state_dir.join("engine.sock")
}

impl fmt::Debug for EngineConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EngineConfig")
            .field("state_dir", &self.state_dir)
            .field("listen", &self.listen)
            .field("dht", &self.dht)
            .field("gate", &self.gate.is_some())
            .field("add_concurrency", &self.add_concurrency)
            .finish()
    }
}
