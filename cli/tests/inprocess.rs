//! Commands run in-process, in an [`Env`] with captured output and an
//! in-memory client: the whole command line, from parsing to exit code,
//! without spawning the binary or a daemon.

#![allow(clippy::unwrap_used)]

use std::path::Path;

use upseed::{Env, Stream, run_in};
use upseed_core::{PostDraft, SecretKey};
use upseed_node::Vars;
use upseed_node::fake::FakeClient;

/// What a command did.
struct Ran {
    code: u8,
    out: String,
    err: String,
}

/// Runs `upseed --config HOME/config.toml ARGS` in-process on `client`,
/// with `stdin`, the DHT off.
fn run_with(home: &Path, client: &FakeClient, stdin: &[u8], args: &[&str]) -> Ran {
    let (out, out_buf) = Stream::buffer();
    let (err, err_buf) = Stream::buffer();
    let mut env = Env {
        vars: Vars::default().with("UPSEED_DHT_ENABLED", "false"),
        stdin: Box::new(std::io::Cursor::new(stdin.to_vec())),
        stdin_tty: false,
        out,
        out_tty: false,
        err,
        err_tty: false,
        client: Some(client.clone()),
    };
    let config = home.join("config.toml");
    let mut argv = vec!["upseed", "--config", config.to_str().unwrap()];
    argv.extend_from_slice(args);
    let code = run_in(&mut env, argv);
    let text = |b: &std::sync::Arc<std::sync::Mutex<Vec<u8>>>| {
        String::from_utf8(b.lock().unwrap().clone()).unwrap()
    };
    Ran {
        code,
        out: text(&out_buf),
        err: text(&err_buf),
    }
}

fn run(home: &Path, client: &FakeClient, args: &[&str]) -> Ran {
    run_with(home, client, b"", args)
}

fn ok(ran: Ran) -> Ran {
    assert_eq!(ran.code, 0, "stdout: {}\nstderr: {}", ran.out, ran.err);
    ran
}

fn init(home: &Path, client: &FakeClient) {
    ok(run(
        home,
        client,
        &[
            "init",
            "--client",
            "qbittorrent",
            "--url",
            "http://127.0.0.1:9/",
        ],
    ));
}

#[test]
fn post_feed_thread_pin_and_status_in_process() {
    let home = tempfile::tempdir().unwrap();
    let client = FakeClient::new();
    init(home.path(), &client);
    assert!(home.path().join("identity.key").exists());

    let posted = ok(run_with(
        home.path(),
        &client,
        b"from standard input",
        &["post", "--title", "hello", "--community", "rust"],
    ));
    let hash = posted.out.lines().next().unwrap().to_owned();
    assert_eq!(hash.len(), 40, "{}", posted.out);
    assert!(
        posted
            .out
            .lines()
            .nth(1)
            .unwrap()
            .starts_with("magnet:?xt=urn:btih:")
    );
    assert_eq!(client.torrents().len(), 1);

    let feed = ok(run(home.path(), &client, &["feed", "--community", "rust"]));
    assert!(feed.out.starts_with("  1. hello\n"), "{}", feed.out);
    assert!(feed.out.contains("from standard input"), "{}", feed.out);
    let json: serde_json::Value =
        serde_json::from_str(&ok(run(home.path(), &client, &["feed", "--json"])).out).unwrap();
    assert_eq!(json["items"][0]["record"]["infohash"], hash.as_str());

    let comment = ok(run(
        home.path(),
        &client,
        &["comment", &hash[..8], "a reply"],
    ));
    assert_eq!(client.torrents().len(), 2, "{}", comment.err);
    let thread = ok(run(home.path(), &client, &["thread", &hash]));
    assert!(thread.out.contains("1 comment\n"), "{}", thread.out);
    assert!(thread.out.contains("  a reply"), "{}", thread.out);

    let shown = ok(run(home.path(), &client, &["show", &hash]));
    assert!(
        shown.out.starts_with(&format!("post {hash}\n")),
        "{}",
        shown.out
    );
    assert!(
        shown.out.ends_with("\nfrom standard input\n"),
        "{}",
        shown.out
    );

    assert_eq!(
        ok(run(home.path(), &client, &["pin", &hash])).out,
        format!("pinned {hash}: gc keeps it\n")
    );
    assert_eq!(
        ok(run(home.path(), &client, &["unpin", &hash])).out,
        format!("unpinned {hash}\n")
    );
    let status = ok(run(home.path(), &client, &["status"]));
    assert!(
        status.out.starts_with("daemon: has never run"),
        "{}",
        status.out
    );
    assert!(
        status.out.contains("seeding 2 of at most 1000"),
        "{}",
        status.out
    );
}

#[test]
fn upvote_and_unvote_in_process() {
    let home = tempfile::tempdir().unwrap();
    let client = FakeClient::new();
    init(home.path(), &client);
    let post = PostDraft::new("a stranger's post")
        .unwrap()
        .sign(&SecretKey::generate().unwrap(), upseed_node::now())
        .unwrap();
    client.offer(&post.torrent_bytes::<&str>(&[]), b"a stranger's post");
    let hash = post.infohash().to_string();
    let up = ok(run(home.path(), &client, &["upvote", &hash]));
    assert_eq!(up.out, format!("upvoted {hash}: your client seeds it\n"));
    assert!(client.holds(post.infohash()));
    let down = ok(run(home.path(), &client, &["unvote", &hash[..12]]));
    assert_eq!(
        down.out,
        format!("unvoted {hash}: your client no longer seeds it\n")
    );
    assert!(!client.holds(post.infohash()));
}

#[test]
fn errors_map_to_their_exit_codes_in_process() {
    let home = tempfile::tempdir().unwrap();
    let client = FakeClient::new();

    // No config yet: every command says to run init, with exit 78.
    for args in [
        &["post", "text"][..],
        &["feed"],
        &["thread", "abcdef"],
        &["pin", "abcdef"],
        &["status"],
    ] {
        let ran = run(home.path(), &client, args);
        assert_eq!(ran.code, 78, "{args:?}: {}", ran.err);
        assert!(ran.err.contains("upseed init"), "{args:?}: {}", ran.err);
    }
    assert!(
        !home.path().join("store.db").exists(),
        "nothing is created before init"
    );

    // Usage errors, and help on standard output.
    assert_eq!(
        run(home.path(), &client, &["feed", "--sort", "loud"]).code,
        2
    );
    let help = run(home.path(), &client, &["--help"]);
    assert_eq!(help.code, 0);
    assert!(help.out.contains("Usage: upseed"), "{}", help.out);

    init(home.path(), &client);
    // Text that is not UTF-8 is refused.
    let ran = run_with(home.path(), &client, b"\x89PNG\r\n", &["post"]);
    assert_eq!(ran.code, 1);
    assert!(ran.err.contains("not valid UTF-8"), "{}", ran.err);

    // Files that never end, or are not files, are refused.
    let ran = run(home.path(), &client, &["inspect", "/dev/zero"]);
    assert_eq!(ran.code, 1);
    assert!(ran.err.contains("not a regular file"), "{}", ran.err);

    // A torrent that is not a record: 65.
    let mut torrent = b"d4:infod6:lengthi5e4:name1:x12:piece lengthi16384e6:pieces20:".to_vec();
    torrent.extend_from_slice(&[1; 20]);
    torrent.extend_from_slice(b"ee");
    client.offer(&torrent, b"hello");
    let hash = upseed_core::AddTorrent::from_torrent(torrent, "/")
        .unwrap()
        .infohash
        .to_string();
    let ran = run(home.path(), &client, &["show", "--timeout", "5", &hash]);
    assert_eq!(ran.code, 65, "{}", ran.err);

    // The client down: 69.
    client.set_down(true);
    let ran = run(home.path(), &client, &["sync"]);
    assert_eq!(ran.code, 69, "{}", ran.err);

    // An ambiguous or unknown reference says so.
    let ran = run(home.path(), &client, &["pin", "abcdef"]);
    assert_eq!(ran.code, 1);
    assert!(
        ran.err
            .contains("no known post or comment starts with `abcdef`"),
        "{}",
        ran.err
    );
}

/// The in-process run prints exactly what the binary prints.
#[test]
fn in_process_output_is_the_binarys() {
    let home = tempfile::tempdir().unwrap();
    let client = FakeClient::new();
    init(home.path(), &client);
    ok(run(
        home.path(),
        &client,
        &["post", "--title", "same", "bytes"],
    ));
    for args in [
        &["feed"][..],
        &["feed", "--json", "--sort", "new"],
        &["status", "--json"],
        &["gc", "--dry-run"],
        &["feed", "--window", "nope"],
    ] {
        let inproc = run(home.path(), &client, args);
        let binary = std::process::Command::new(env!("CARGO_BIN_EXE_upseed"))
            .arg("--config")
            .arg(home.path().join("config.toml"))
            .args(args)
            .env("UPSEED_DHT_ENABLED", "false")
            .env_remove("UPSEED_HOME")
            .output()
            .unwrap();
        let mut inproc_out = inproc.out;
        let mut binary_out = String::from_utf8(binary.stdout).unwrap();
        if args[0] == "status" {
            // The time of reading differs.
            let strip = |s: &str| {
                s.lines()
                    .filter(|l| !l.contains("\"now\""))
                    .collect::<Vec<_>>()
                    .join("\n")
            };
            inproc_out = strip(&inproc_out);
            binary_out = strip(&binary_out);
        }
        assert_eq!(inproc_out, binary_out, "{args:?}");
        assert_eq!(
            inproc.err,
            String::from_utf8(binary.stderr).unwrap(),
            "{args:?}"
        );
        assert_eq!(
            Some(i32::from(inproc.code)),
            binary.status.code(),
            "{args:?}"
        );
    }
}
