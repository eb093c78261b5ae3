//! Helpers shared by the CLI's integration tests.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Command, Output};

use upseed_core::{InfoHash, TorrentClient};
use upseed_tests::conformance::Node;
use upseed_tests::host;
use upseed_tests::qbittorrent::{QbDaemon, QbOptions};
use upseed_tests::story::init_args;
use upseed_tests::tracker::Tracker;

/// The `upseed` binary under test: `UPSEED_TEST_BIN` when set (a frozen copy,
/// so a long soak is not disturbed by a rebuild), else cargo's build.
pub(crate) fn bin() -> std::path::PathBuf {
    std::env::var_os("UPSEED_TEST_BIN").map_or_else(
        || env!("CARGO_BIN_EXE_upseed").into(),
        std::path::PathBuf::from,
    )
}

/// Runs `upseed --config HOME/config.toml ARGS` with the client password in
/// the environment, and the DHT off.
pub(crate) fn upseed(home: &Path, password: &str, args: &[&str]) -> Output {
    upseed_env(home, password, args, &[("UPSEED_DHT_ENABLED", "false")])
}

/// [`upseed`] with more environment variables.
pub(crate) fn upseed_env(
    home: &Path,
    password: &str,
    args: &[&str],
    env: &[(&str, &str)],
) -> Output {
    Command::new(bin())
        .arg("--config")
        .arg(home.join("config.toml"))
        .args(args)
        .env("UPSEED_CLIENT_PASSWORD", password)
        .env_remove("UPSEED_HOME")
        .envs(env.iter().copied())
        .output()
        .unwrap()
}

/// Output bytes as text.
pub(crate) fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `upseed init` for `node`'s client, plus `extra` flags; asserts success.
pub(crate) fn init<N: Node>(
    home: &Path,
    node: &N,
    kind: &str,
    url: &str,
    password: &str,
    tracker: &Tracker,
    extra: &[&str],
) {
    let mut args = init_args(node, kind, url, tracker);
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = upseed(home, password, &args);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(home.join("identity.key").exists() && home.join("config.toml").exists());
}

/// Whether `daemon`'s client holds `hash` in upseed's category.
pub(crate) async fn holds(daemon: &QbDaemon, hash: InfoHash) -> bool {
    !daemon
        .client()
        .list(Some(&[hash]))
        .await
        .unwrap()
        .is_empty()
}

/// Alice and bob, each with a real qBittorrent of their own and an
/// initialised upseed home, sharing one tracker.
pub(crate) struct TwoUsers {
    pub(crate) tracker: Tracker,
    pub(crate) alice_qb: QbDaemon,
    pub(crate) bob_qb: QbDaemon,
    pub(crate) alice: tempfile::TempDir,
    pub(crate) bob: tempfile::TempDir,
    /// Alice's client password.
    pub(crate) apw: String,
    /// Bob's client password.
    pub(crate) bpw: String,
}

/// Starts the tracker and both clients, and runs `upseed init` for both.
pub(crate) async fn two_users() -> TwoUsers {
    let tracker = Tracker::start(host()).await;
    let alice_qb = QbDaemon::start(QbOptions::default()).await;
    let bob_qb = QbDaemon::start(QbOptions::default()).await;
    let (alice, bob) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (apw, bpw) = (alice_qb.password().to_owned(), bob_qb.password().to_owned());
    for (home, qb, pw) in [(&alice, &alice_qb, &apw), (&bob, &bob_qb, &bpw)] {
        let url = qb.url().to_string();
        init(home.path(), qb, "qbittorrent", &url, pw, &tracker, &[]);
    }
    TwoUsers {
        tracker,
        alice_qb,
        bob_qb,
        alice,
        bob,
        apw,
        bpw,
    }
}

/// The outbox index versions `home`'s store names as newest: what its
/// client seeds for followers (the test tracker serves only what it is
/// told to).
pub(crate) fn index_heads(home: &Path) -> Vec<InfoHash> {
    let db = rusqlite::Connection::open(home.join("store.db")).unwrap();
    let mut stmt = db.prepare("SELECT infohash FROM index_heads").unwrap();
    stmt.query_map([], |r| r.get::<_, Vec<u8>>(0))
        .unwrap()
        .map(|h| InfoHash::from_bytes(h.unwrap().try_into().unwrap()))
        .collect()
}

/// `upseed serve --no-daemon` for `home` on a free port: the process and
/// its base URL.
pub(crate) fn serve(home: &std::path::Path, password: &str) -> (Running, String) {
    let port = upseed_tests::free_port(std::net::Ipv4Addr::LOCALHOST);
    let child = std::process::Command::new(bin())
        .arg("--config")
        .arg(home.join("config.toml"))
        .args([
            "serve",
            "--no-daemon",
            "--listen",
            &format!("127.0.0.1:{port}"),
        ])
        .env("UPSEED_CLIENT_PASSWORD", password)
        .env("UPSEED_DHT_ENABLED", "false")
        .env_remove("UPSEED_HOME")
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(home.join("serve.log")).unwrap())
        .spawn()
        .unwrap();
    (Running(child), format!("http://127.0.0.1:{port}"))
}

/// A child process (a daemon, a server), killed if the test ends early,
/// a failed assertion included, so that none outlives its test.
pub(crate) struct Running(pub(crate) std::process::Child);

impl std::ops::Deref for Running {
    type Target = std::process::Child;
    fn deref(&self) -> &std::process::Child {
        &self.0
    }
}

impl std::ops::DerefMut for Running {
    fn deref_mut(&mut self) -> &mut std::process::Child {
        &mut self.0
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}
