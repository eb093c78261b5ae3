//! The embedded engine as a node of the harness: an in-process librqbit
//! engine with its own folder, answering on its socket as `upseed daemon`
//! does, so that the `upseed` binary can drive it too.

use std::path::PathBuf;

use upseed_embedded::{Embedded, EngineConfig, Serving};

use crate::conformance::Node;

/// An engine under test.
pub struct EngineNode {
    engine: Option<Embedded>,
    serving: Option<Serving>,
    dir: tempfile::TempDir,
}

impl EngineNode {
    /// Starts an engine in a fresh folder, on this test's address, with
    /// no DHT: peers come from trackers.
    pub async fn start() -> Self {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let node = Self::start_in(dir, None).await;
        for folder in [node.posts_dir(), node.downloads_dir()] {
            std::fs::create_dir_all(folder).expect("the node's folders");
        }
        node
    }

    /// Starts an engine whose state lives in `dir/engine` (where `upseed`
    /// looks for it when its home is `dir`), joining the DHT through
    /// `bootstrap` when given.
    pub async fn start_in(dir: tempfile::TempDir, bootstrap: Option<Vec<String>>) -> Self {
        let mut config = EngineConfig::new(dir.path().join("engine"));
        // Inside the namespace, on every address, as a user's engine
        // listens: librqbit cannot bind its tracker requests or peer
        // connections to an address, so they come from the namespace's
        // unbound source, and peers find the engine there.
        let ip = match crate::netns::unbound_source() {
            Some(_) => std::net::Ipv4Addr::UNSPECIFIED,
            None => std::net::Ipv4Addr::LOCALHOST,
        };
        config.listen = std::net::SocketAddr::from((ip, 0));
        config.dht = bootstrap.map(|bootstrap| upseed_embedded::DhtConfig { port: 0, bootstrap });
        let engine = Embedded::start(config).await.expect("the engine starts");
        let serving = upseed_embedded::serve(engine.clone()).expect("the engine's socket");
        Self {
            engine: Some(engine),
            serving: Some(serving),
            dir,
        }
    }

    /// The engine.
    pub fn engine(&self) -> &Embedded {
        self.engine.as_ref().expect("the engine runs")
    }

    /// The folder holding the engine's state, posts and downloads.
    pub fn dir(&self) -> PathBuf {
        self.dir.path().to_owned()
    }
}

impl Node for EngineNode {
    type Client = Embedded;

    fn client(&self) -> Embedded {
        self.engine().clone()
    }

    fn posts_dir(&self) -> PathBuf {
        self.dir.path().join("posts")
    }

    fn downloads_dir(&self) -> PathBuf {
        self.dir.path().join("downloads")
    }

    fn stop(&mut self) {
        self.serving = None;
        if let Some(engine) = self.engine.take() {
            tokio::spawn(async move { engine.stop().await });
        }
    }

    fn log_tail(&self) -> String {
        format!(
            "--- the embedded engine in {} logs through the test's own tracing",
            self.dir.path().display()
        )
    }
}
