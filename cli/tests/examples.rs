//! The shipped examples stay valid: `docs/examples/config.toml` loads as a
//! config, and `docs/examples/upseed.service` is a systemd unit that runs
//! `upseed daemon`, stops it with SIGTERM, and holds no secret.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::Path;

use upseed_core::rank::Window;
use upseed_node::config::Config;

fn example(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../docs/examples")
        .join(name)
}

#[test]
fn the_example_config_loads() {
    let config = Config::load(&example("config.toml"), &upseed_node::Vars::default()).unwrap();
    assert_eq!(config.daemon.seed_top.len(), 2);
    assert_eq!(config.daemon.seed_top[0].window, Window::Week);
    assert!(config.daemon.seed_top[1].dry_run);
    assert_eq!(config.daemon.rescue.as_ref().unwrap().budget, 50);
    assert!(config.daemon.seed_followed.is_some());
    assert_eq!(config.seeding.max_torrents, 2000);
    assert_eq!(config.retention.policy().grace, 36 * 3600);
    assert_eq!(config.daemon.sync_every.as_secs(), 15 * 60);
}

/// A systemd unit file: sections of `key=value` lines, `#` comments.
fn parse_unit(text: &str) -> BTreeMap<String, Vec<(String, String)>> {
    let mut sections: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    let mut current = None;
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            current = Some(name.to_owned());
            sections.entry(name.to_owned()).or_default();
            continue;
        }
        let (key, value) = line
            .split_once('=')
            .unwrap_or_else(|| panic!("line {}: not key=value: {line}", n + 1));
        let section = current
            .clone()
            .unwrap_or_else(|| panic!("line {}: outside a section", n + 1));
        sections
            .get_mut(&section)
            .unwrap()
            .push((key.trim().to_owned(), value.trim().to_owned()));
    }
    sections
}

#[test]
fn the_example_unit_runs_the_daemon_and_holds_no_secret() {
    let text = std::fs::read_to_string(example("upseed.service")).unwrap();
    let unit = parse_unit(&text);
    assert_eq!(
        unit.keys().collect::<Vec<_>>(),
        vec!["Install", "Service", "Unit"]
    );
    let get = |section: &str, key: &str| {
        unit[section]
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("[{section}] has no {key}"))
    };
    let exec = get("Service", "ExecStart");
    let argv: Vec<&str> = exec.split_whitespace().collect();
    assert!(
        argv[0].ends_with("/upseed") && argv[1] == "daemon",
        "{exec}"
    );
    // The flags parse as the binary's own.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_upseed"))
        .args(&argv[1..])
        .arg("--help")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Where `cargo install --locked --path cli` puts the binary.
    assert_eq!(argv[0], "%h/.cargo/bin/upseed");
    // It may write the folders that the XDG layout and the example config
    // name (the example's user is /home/seed).
    let writable = get("Service", "ReadWritePaths");
    let writable: Vec<&str> = writable.split_whitespace().collect();
    let config =
        upseed_node::config::Config::load(&example("config.toml"), &upseed_node::Vars::default())
            .unwrap();
    let home = upseed_node::Home::locate(
        None,
        &upseed_node::Vars::default().with("HOME", "/home/seed"),
    )
    .unwrap();
    for path in [
        home.config.parent().unwrap(),
        home.store.parent().unwrap(),
        config.posts.dir.as_path(),
        config.posts.downloads.as_path(),
    ] {
        assert!(
            writable
                .iter()
                .any(|w| path.starts_with(w.replace("%h", "/home/seed"))),
            "{} is not in ReadWritePaths {writable:?}",
            path.display()
        );
    }
    // Its documentation exists.
    assert!(get("Unit", "Documentation").contains("man:upseed(1)"));
    assert!(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../docs/man/upseed.1")
            .exists()
    );
    assert_eq!(get("Service", "KillSignal"), "SIGTERM");
    assert_eq!(get("Service", "Restart"), "on-failure");
    assert_eq!(get("Install", "WantedBy"), "default.target");
    let lower = text.to_lowercase();
    for secret in ["password=", "upseed_client_password=", "secret"] {
        assert!(!lower.contains(secret), "the unit mentions {secret}");
    }
}
