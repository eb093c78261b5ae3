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

/// A user's engine as users hold it: `upseed daemon` running on their
/// home, reached like every command reaches it, over its socket.
pub struct EngineDaemon {
    home: PathBuf,
    upseed: PathBuf,
    daemon: Option<crate::process::Daemon>,
}

impl EngineDaemon {
    /// The engine of the upseed home at `home` (whose config file is
    /// `home/config.toml`), held by the `upseed` binary at `upseed` once
    /// [`Self::start`] runs.
    pub fn new(home: &std::path::Path, upseed: &std::path::Path) -> Self {
        Self {
            home: home.to_owned(),
            upseed: upseed.to_owned(),
            daemon: None,
        }
    }

    /// Starts `upseed daemon` with `env` besides the home's config, and
    /// waits until it answers on the engine's socket.
    pub async fn start(&mut self, env: &[(&str, &str)]) {
        self.start_holder(&["daemon"], env).await;
    }

    /// Starts `upseed ARGS` (`daemon`, or `serve` and its flags) with
    /// `env`, and waits until it holds the engine.
    pub async fn start_holder(&mut self, args: &[&str], env: &[(&str, &str)]) {
        let mut command = std::process::Command::new(&self.upseed);
        command
            .arg("--config")
            .arg(self.home.join("config.toml"))
            .args(args)
            .env_remove("UPSEED_HOME")
            .envs(env.iter().copied());
        let log = self.home.join("daemon.log");
        self.daemon = Some(crate::process::Daemon::spawn(
            "upseed holding the engine",
            command,
            &log,
        ));
        let remote = self.client();
        crate::eventually(
            "upseed to hold the engine",
            std::time::Duration::from_secs(30),
            || async { remote.is_held().await.then_some(()) },
        )
        .await;
    }

    /// Kills the daemon at once (SIGKILL), as a crash or power cut would.
    pub fn kill(&mut self) {
        if let Some(daemon) = &self.daemon {
            daemon.signal(nix::sys::signal::Signal::SIGKILL);
        }
        if let Some(mut daemon) = self.daemon.take() {
            daemon.stop(std::time::Duration::from_secs(5));
        }
    }

    /// The daemon's process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.daemon.as_ref().and_then(crate::process::Daemon::pid)
    }
}

impl Node for EngineDaemon {
    type Client = upseed_embedded::Remote;

    fn client(&self) -> upseed_embedded::Remote {
        upseed_embedded::Remote::new(upseed_embedded::socket_in(&self.home.join("engine")))
    }

    fn posts_dir(&self) -> PathBuf {
        self.home.join("posts")
    }

    fn downloads_dir(&self) -> PathBuf {
        self.home.join("downloads")
    }

    fn stop(&mut self) {
        if let Some(mut daemon) = self.daemon.take() {
            daemon.stop(std::time::Duration::from_secs(10));
        }
    }

    fn log_tail(&self) -> String {
        self.daemon
            .as_ref()
            .map(crate::process::Daemon::log_tail)
            .unwrap_or_default()
    }
}
