//! Helpers shared by the CLI's integration tests.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Command, Output};

use upseed_tests::conformance::Node;
use upseed_tests::story::init_args;
use upseed_tests::tracker::Tracker;

/// Runs `upseed --config HOME/config.toml ARGS` with the client password in
/// the environment.
pub(crate) fn upseed(home: &Path, password: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_upseed"))
        .arg("--config")
        .arg(home.join("config.toml"))
        .args(args)
        .env("UPSEED_CLIENT_PASSWORD", password)
        .env_remove("UPSEED_HOME")
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
