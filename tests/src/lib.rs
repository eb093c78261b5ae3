//! The real-daemon test harness: opentracker, qbittorrent-nox and
//! transmission-daemon on 127.0.0.1 (or on private addresses inside a
//! network namespace of the test's own), each with a temporary profile,
//! free ports, and DHT, LSD, UPnP and PEX off. Daemons stop by PID when
//! dropped, also when a test panics.
//!
//! The golden vectors live in `tests/vectors/` and are checked by
//! `tests/tests/vectors.rs`.

pub mod conformance;
pub mod embedded;
pub mod hostile;
pub mod netns;
pub mod process;
pub mod qbittorrent;
pub mod story;
pub mod tracker;
pub mod transmission;

use std::net::{Ipv4Addr, TcpListener};
use std::time::Duration;

/// The address daemons listen on: 127.0.0.1, or the one given by the
/// private-namespace mode.
pub fn host() -> Ipv4Addr {
    netns::address_for(0).unwrap_or(Ipv4Addr::LOCALHOST)
}

/// A TCP port that is free right now on `ip`.
pub fn free_port(ip: Ipv4Addr) -> u16 {
    TcpListener::bind((ip, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("no free port on {ip}: {e}"))
}

/// `bytes` random bytes as hex, for unique passwords and texts.
pub fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).expect("randomness");
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether `program` is installed. When it is not, a test skips with a
/// message, except under `CI=true`, where a missing daemon is a failure.
pub fn have(program: &str) -> bool {
    let found = std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()));
    if !found {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{program} is not installed; run scripts/install-deps"
        );
        eprintln!("skipped: {program} is not installed (scripts/install-deps installs it)");
    }
    found
}

/// Polls `check` until it returns `Some`, or panics with `what` after `limit`.
pub async fn eventually<T, F, Fut>(what: &str, limit: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after {limit:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The `upseed` binary of this workspace, built first if needed (cargo
/// builds a package's binaries only for that package's own tests).
pub fn upseed_binary() -> std::path::PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    // target/<profile>/deps/<test> -> target/<profile>/upseed
    let dir = exe
        .parent()
        .and_then(std::path::Path::parent)
        .expect("target folder");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = std::process::Command::new(cargo)
        .args([
            "build", "--quiet", "--locked", "-p", "upseed", "--bin", "upseed",
        ])
        .status()
        .expect("run cargo build");
    assert!(status.success(), "cannot build the upseed binary");
    dir.join("upseed")
}
