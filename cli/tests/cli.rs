//! The `upseed` binary as users run it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Command, Output};

fn upseed(args: &[&str], home: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_upseed"))
        .args(args)
        .env("UPSEED_HOME", home)
        .env_remove("XDG_CONFIG_HOME")
        .output()
        .unwrap()
}

fn vector(name: &str, file: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/vectors")
        .join(name)
        .join(file)
        .to_string_lossy()
        .into_owned()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).unwrap()
}

/// `text` with the relative age after each date ("(3 years ago)") cut,
/// since it changes with the clock.
fn without_age(text: &str) -> String {
    text.lines()
        .map(|line| match line.find(" UTC (") {
            Some(at) => format!("{} UTC (…)", &line[..at]),
            None => line.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

#[test]
fn completions_and_the_man_page_come_from_the_grammar() {
    let home = tempfile::tempdir().unwrap();
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let out = upseed(&["completions", shell], home.path());
        assert!(out.status.success(), "{}", text(&out.stderr));
        let script = text(&out.stdout);
        assert!(script.contains("upseed"), "{shell}: {script}");
        assert!(script.contains("config"), "{shell} completes every command");
    }
    let out = upseed(&["completions", "tcsh"], home.path());
    assert_eq!(
        out.status.code(),
        Some(2),
        "an unknown shell is a usage error"
    );
    let man = upseed(&["man"], home.path());
    assert!(man.status.success());
    let page = text(&man.stdout);
    assert!(
        page.starts_with(".ie") || page.contains(".TH upseed 1"),
        "{page}"
    );
    // The checked-in page, which the install step and the systemd unit's
    // `man:upseed(1)` rely on, is the one the grammar gives.
    let checked_in = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/man/upseed.1");
    if std::env::var_os("UPSEED_TEST_BLESS").is_some() {
        std::fs::create_dir_all(checked_in.parent().unwrap()).unwrap();
        std::fs::write(&checked_in, &page).unwrap();
    }
    assert_eq!(
        std::fs::read_to_string(&checked_in).unwrap_or_default(),
        page,
        "docs/man/upseed.1 is stale: UPSEED_TEST_BLESS=1 cargo test -p upseed --test cli"
    );
}

#[test]
fn help_texts() {
    let home = tempfile::tempdir().unwrap();
    for args in [
        &["--help"][..],
        &["init", "--help"],
        &["post", "--help"],
        &["comment", "--help"],
        &["feed", "--help"],
        &["thread", "--help"],
        &["show", "--help"],
        &["upvote", "--help"],
        &["unvote", "--help"],
        &["sync", "--help"],
        &["doctor", "--help"],
        &["gc", "--help"],
        &["daemon", "--help"],
        &["status", "--help"],
        &["follow", "--help"],
        &["unfollow", "--help"],
        &["profile", "--help"],
        &["pin", "--help"],
        &["unpin", "--help"],
        &["key", "--help"],
        &["inspect", "--help"],
        &["export", "--help"],
        &["config", "show", "--help"],
        &["completions", "--help"],
        &["man", "--help"],
        &["serve", "--help"],
        &["mute", "--help"],
        &["unmute", "--help"],
        &["mutes", "--help"],
        &["mutes", "publish", "--help"],
        &["mutes", "subscribe", "--help"],
        &["edit", "--help"],
        &["delete", "--help"],
    ] {
        let out = upseed(args, home.path());
        assert!(out.status.success());
        insta::assert_snapshot!(format!("help-{}", args.join("-")), text(&out.stdout));
    }
}

#[test]
fn key_new_then_show() {
    let home = tempfile::tempdir().unwrap();
    let new = upseed(&["key", "new"], home.path());
    assert!(new.status.success(), "{}", text(&new.stderr));
    let public = text(&new.stdout);
    assert_eq!(public.trim().len(), 52);
    let show = upseed(&["key", "show"], home.path());
    assert_eq!(text(&show.stdout), public);
    // The secret never reaches the terminal.
    let file = std::fs::read_to_string(home.path().join("identity.key")).unwrap();
    let secret = file.lines().last().unwrap().split(' ').nth(1).unwrap();
    assert!(!text(&new.stderr).contains(secret) && !public.contains(secret));
    // A second `key new` keeps the first identity.
    let again = upseed(&["key", "new"], home.path());
    assert_eq!(again.status.code(), Some(1));
    assert_eq!(text(&upseed(&["key", "show"], home.path()).stdout), public);
}

#[test]
fn inspect_prints_json_for_a_golden_vector() {
    let home = tempfile::tempdir().unwrap();
    let out = upseed(
        &[
            "inspect",
            &vector("1-post", "record.torrent"),
            "--body",
            &vector("1-post", "body.txt"),
            "--json",
        ],
        home.path(),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    insta::assert_snapshot!("inspect-post-json", text(&out.stdout));
    let human = upseed(
        &["inspect", &vector("2-comment", "record.torrent")],
        home.path(),
    );
    insta::assert_snapshot!("inspect-comment", without_age(&text(&human.stdout)));
}

#[test]
fn inspect_refuses_a_mismatched_body_with_exit_65() {
    let home = tempfile::tempdir().unwrap();
    let out = upseed(
        &[
            "inspect",
            &vector("1-post", "record.torrent"),
            "--body",
            &vector("2-comment", "body.txt"),
        ],
        home.path(),
    );
    assert_eq!(out.status.code(), Some(65));
    let err = text(&out.stderr);
    assert!(
        err.contains("does not match the record") && err.contains("280"),
        "{err}"
    );
}

#[test]
fn usage_errors_exit_2() {
    let home = tempfile::tempdir().unwrap();
    assert_eq!(upseed(&["inspect"], home.path()).status.code(), Some(2));
}
