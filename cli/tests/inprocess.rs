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

/// Runs `argv` in-process on `client` with `vars` (and the DHT off unless
/// they say otherwise), `stdin`, and a terminal on standard input when `tty`.
fn exec(client: &FakeClient, vars: &[(&str, &str)], stdin: &[u8], tty: bool, argv: &[&str]) -> Ran {
    let (out, out_buf) = Stream::buffer();
    let (err, err_buf) = Stream::buffer();
    let mut all = Vars::default().with("UPSEED_DHT_ENABLED", "false");
    for (name, value) in vars {
        all = all.with(name, value);
    }
    let mut env = Env {
        vars: all,
        stdin: Box::new(std::io::Cursor::new(stdin.to_vec())),
        stdin_tty: tty,
        prompt_hidden: false,
        out,
        out_tty: false,
        err,
        err_tty: false,
        client: Some(client.clone()),
    };
    let mut full = vec!["upseed"];
    full.extend_from_slice(argv);
    let code = run_in(&mut env, full);
    let text = |b: &std::sync::Arc<std::sync::Mutex<Vec<u8>>>| {
        String::from_utf8(b.lock().unwrap().clone()).unwrap()
    };
    Ran {
        code,
        out: text(&out_buf),
        err: text(&err_buf),
    }
}

/// Runs `upseed --config HOME/config.toml ARGS` with `vars` and `stdin`.
fn run_full(
    home: &Path,
    client: &FakeClient,
    vars: &[(&str, &str)],
    stdin: &[u8],
    args: &[&str],
) -> Ran {
    let config = home.join("config.toml");
    let mut argv = vec!["--config", config.to_str().unwrap()];
    argv.extend_from_slice(args);
    exec(client, vars, stdin, false, &argv)
}

/// Runs `upseed --config HOME/config.toml ARGS` in-process on `client`,
/// with `stdin`, the DHT off.
fn run_with(home: &Path, client: &FakeClient, stdin: &[u8], args: &[&str]) -> Ran {
    run_full(home, client, &[], stdin, args)
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
    // The cause is said once.
    let cause = "it is an ordinary torrent, not a post or comment";
    assert_eq!(ran.err.matches(cause).count(), 1, "{}", ran.err);
    let again = run(home.path(), &client, &["show", "--timeout", "5", &hash]);
    assert_eq!(again.code, 65, "{}", again.err);
    assert_eq!(again.err.matches(cause).count(), 1, "{}", again.err);
    assert!(
        again.err.contains("does not fetch it again"),
        "{}",
        again.err
    );

    // The client down: 69.
    client.set_down(true);
    let ran = run(home.path(), &client, &["sync"]);
    assert_eq!(ran.code, 69, "{}", ran.err);

    // An ambiguous or unknown reference says so.
    let ran = run(home.path(), &client, &["pin", "abcdef"]);
    assert_eq!(ran.code, 1);
    assert!(
        ran.err
            .contains("no post or comment in your store starts with `abcdef`")
            && ran.err.contains("magnet link"),
        "{}",
        ran.err
    );
}

/// Runs with extra environment variables.
fn run_vars(home: &Path, client: &FakeClient, vars: &[(&str, &str)], args: &[&str]) -> Ran {
    run_full(home, client, vars, b"", args)
}

#[test]
fn every_command_reads_the_config_the_same_way() {
    let home = tempfile::tempdir().unwrap();
    let client = FakeClient::new();
    init(home.path(), &client);
    // A broken override or file fails feed as it fails post: 78.
    for (name, value) in [
        ("UPSEED_DHT_ENABLED", "maybe"),
        ("UPSEED_CLIENT_URL", "5"),
        ("UPSEED_DAEMON_SYNC_EVERY", "0s"),
    ] {
        for args in [
            &["feed", "--community", "rust"][..],
            &["post", "x"],
            &["status"],
        ] {
            let ran = run_vars(home.path(), &client, &[(name, value)], args);
            assert_eq!(ran.code, 78, "{name} {args:?}: {}", ran.err);
            assert!(ran.err.contains(name), "{name} {args:?}: {}", ran.err);
        }
    }
    let config = home.path().join("config.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        text.replace("bootstrap = []", "bootstrap = \"127.0.0.1:9\""),
    )
    .unwrap();
    let ran = run(home.path(), &client, &["feed", "--community", "rust"]);
    assert_eq!(ran.code, 78, "{}", ran.err);
    std::fs::write(&config, &text).unwrap();

    // A misspelled variable is named, with the likely one.
    let ran = run_vars(
        home.path(),
        &client,
        &[("UPSEED_DAEMON_SYNCEVERY", "5m")],
        &["feed"],
    );
    assert_eq!(ran.code, 0, "{}", ran.err);
    assert!(
        ran.err
            .contains("UPSEED_DAEMON_SYNCEVERY is not a variable upseed reads")
            && ran.err.contains("did you mean UPSEED_DAEMON_SYNC_EVERY"),
        "{}",
        ran.err
    );
    let quiet = run_vars(
        home.path(),
        &client,
        &[("UPSEED_DAEMON_SYNCEVERY", "5m")],
        &["-q", "feed"],
    );
    assert_eq!(quiet.err, "", "-q says nothing but errors");

    // `config show`: each value and its source, no secret.
    let shown = ok(run_vars(
        home.path(),
        &client,
        &[
            ("UPSEED_DAEMON_SYNC_EVERY", "5m"),
            ("UPSEED_CLIENT_PASSWORD", "hunter2-secret"),
        ],
        &["config", "show"],
    ));
    assert!(
        shown
            .out
            .lines()
            .any(|l| l.starts_with("sync_every = \"5m\"") && l.contains("UPSEED_DAEMON_SYNC_EVERY")),
        "{}",
        shown.out
    );
    assert!(
        shown
            .out
            .lines()
            .any(|l| l.starts_with("gc_every = \"6h\"") && l.contains("# config file")),
        "{}",
        shown.out
    );
    assert!(
        shown
            .out
            .contains("# password: the password from UPSEED_CLIENT_PASSWORD, not shown")
    );
    assert!(!shown.out.contains("hunter2"), "{}", shown.out);
    let json = ok(run(home.path(), &client, &["config", "show", "--json"]));
    let doc: serde_json::Value = serde_json::from_str(&json.out).unwrap();
    let setting = doc["settings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["key"] == "daemon.fetch_timeout")
        .unwrap();
    assert_eq!(setting["env"], "UPSEED_DAEMON_FETCH_TIMEOUT");
    assert_eq!(setting["source"]["from"], "file");
    assert_eq!(doc["password"]["from"], "none");

    // --window with a sort that has none is refused.
    let ran = run(
        home.path(),
        &client,
        &["feed", "--sort", "hot", "--window", "week"],
    );
    assert_eq!(ran.code, 2, "{}", ran.err);
    assert!(
        ran.err.contains("--window applies to --sort top"),
        "{}",
        ran.err
    );
    ok(run(
        home.path(),
        &client,
        &["feed", "--sort", "top", "--window", "week"],
    ));
}

#[test]
fn a_refused_password_is_not_sent_again_by_later_runs() {
    let home = tempfile::tempdir().unwrap();
    let client = FakeClient::new();
    init(home.path(), &client);
    let wrong = [("UPSEED_CLIENT_PASSWORD", "wrong")];
    client.set_refusing(true);
    let first = run_vars(home.path(), &client, &wrong, &["sync"]);
    assert_eq!(first.code, 77, "{}", first.err);
    assert!(
        first
            .err
            .contains("with the password from UPSEED_CLIENT_PASSWORD")
            && first
                .err
                .contains("set the right password in UPSEED_CLIENT_PASSWORD"),
        "{}",
        first.err
    );
    let calls = upseed_core::TorrentClient::requests_sent(&client);
    for _ in 0..5 {
        let again = run_vars(home.path(), &client, &wrong, &["sync"]);
        assert_eq!(again.code, 77, "{}", again.err);
        assert!(again.err.contains("it was refused at"), "{}", again.err);
    }
    assert_eq!(
        upseed_core::TorrentClient::requests_sent(&client),
        calls,
        "later runs send nothing"
    );
    // Another password is tried at once.
    client.set_refusing(false);
    ok(run_vars(
        home.path(),
        &client,
        &[("UPSEED_CLIENT_PASSWORD", "right")],
        &["sync"],
    ));
    // No password at all names that as the source.
    client.set_refusing(true);
    let none = run(home.path(), &client, &["sync"]);
    assert_eq!(none.code, 77, "{}", none.err);
    assert!(none.err.contains("no password"), "{}", none.err);
    // A password file names its path.
    let file = home.path().join("pw");
    std::fs::write(&file, "wrong\n").unwrap();
    std::fs::set_permissions(&file, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let ran = run_vars(
        home.path(),
        &client,
        &[("UPSEED_CLIENT_PASSWORD_FILE", file.to_str().unwrap())],
        &["sync"],
    );
    assert_eq!(ran.code, 77, "{}", ran.err);
    assert!(
        ran.err
            .contains(&format!("the password in {}", file.display())),
        "{}",
        ran.err
    );
}

#[test]
fn init_asks_for_everything_and_tests_the_login() {
    let home = tempfile::tempdir().unwrap();
    let client = FakeClient::new();
    let answers =
        "qbittorrent\nhttp://127.0.0.1:8080/\n\nsecret pass\nhttp://127.0.0.1:6969/announce\n";
    let config = home.path().join("config.toml");
    let asked = exec(
        &client,
        &[],
        answers.as_bytes(),
        true,
        &["--config", config.to_str().unwrap(), "init"],
    );
    let err = asked.err;
    assert_eq!(asked.code, 0, "{err}");
    assert!(err.contains("Web UI user name [admin]"), "{err}");
    assert!(err.contains("logged in to qBittorrent"), "{err}");
    // The hook is offered, and yes is the default.
    assert!(err.contains("sets its run-on-finish program"), "{err}");
    assert!(client.hook().unwrap().ends_with("ingest-hook"), "{err}");
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(text.contains("username = \"admin\""), "{text}");
    assert!(
        text.contains("urls = [\"http://127.0.0.1:6969/announce\"]"),
        "{text}"
    );
    let password = home.path().join("client-password");
    assert!(text.contains(&format!("password_file = \"{}\"", password.display())));
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&password).unwrap().permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);
    assert_eq!(std::fs::read_to_string(&password).unwrap(), "secret pass\n");
    assert!(!text.contains("secret pass"));

    // A refused login writes no config, and removes the password it saved.
    let home = tempfile::tempdir().unwrap();
    client.set_refusing(true);
    let config = home.path().join("config.toml");
    let refused = exec(
        &client,
        &[],
        answers.as_bytes(),
        true,
        &["--config", config.to_str().unwrap(), "init"],
    );
    let err = refused.err;
    assert_eq!(refused.code, 77, "{err}");
    assert!(err.contains("no config was written"), "{err}");
    assert!(!config.exists() && !home.path().join("client-password").exists());

    // A password file others can read is refused before anything is written.
    let file = home.path().join("readable");
    std::fs::write(&file, "pw\n").unwrap();
    std::fs::set_permissions(&file, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    client.set_refusing(false);
    let ran = run(
        home.path(),
        &client,
        &[
            "init",
            "--client",
            "qbittorrent",
            "--url",
            "http://127.0.0.1:9/",
            "--password-file",
            file.to_str().unwrap(),
        ],
    );
    assert_ne!(ran.code, 0);
    assert!(ran.err.contains("chmod 600"), "{}", ran.err);
    assert!(!config.exists());
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

#[test]
fn names_dates_exports_and_threads_fetched_by_magnet() {
    let home = tempfile::tempdir().unwrap();
    let client = FakeClient::new();
    init(home.path(), &client);
    ok(run(home.path(), &client, &["profile", "--name", "alice"]));
    let posted = ok(run(
        home.path(),
        &client,
        &["post", "--title", "named", "hi"],
    ));
    let hash = posted.out.lines().next().unwrap().to_owned();
    let key = ok(run(home.path(), &client, &["key", "show"])).out;
    let feed = ok(run(home.path(), &client, &["feed"]));
    assert!(
        feed.out
            .contains(&format!("by alice ({})", &key.trim()[..12])),
        "{}",
        feed.out
    );
    let json: serde_json::Value =
        serde_json::from_str(&ok(run(home.path(), &client, &["feed", "--json"])).out).unwrap();
    assert_eq!(json["items"][0]["author_name"], "alice");
    let thread = ok(run(home.path(), &client, &["thread", &hash]));
    assert!(thread.out.contains("by alice ("), "{}", thread.out);

    // Dates, not unix seconds.
    let shown = ok(run(home.path(), &client, &["show", &hash]));
    let created = shown
        .out
        .lines()
        .find(|l| l.starts_with("created"))
        .unwrap();
    assert!(created.contains(" UTC (just now)"), "{created}");
    assert!(created.contains("-"), "{created}");

    // Export writes the .torrent and the text, which inspect accepts.
    let out = home.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let exported = ok(run(
        home.path(),
        &client,
        &["export", &hash[..10], "--dir", out.to_str().unwrap()],
    ));
    let mut lines = exported.out.lines();
    let (torrent, body) = (lines.next().unwrap(), lines.next().unwrap());
    assert!(torrent.ends_with(&format!("{hash}.torrent")), "{torrent}");
    let inspected = ok(run(
        home.path(),
        &client,
        &["inspect", torrent, "--body", body, "--json"],
    ));
    let doc: serde_json::Value = serde_json::from_str(&inspected.out).unwrap();
    assert_eq!(doc["infohash"], hash.as_str());
    assert_eq!(doc["body"], "hi");
    // Again: the same files are there, so nothing changes; another file is never replaced.
    ok(run(
        home.path(),
        &client,
        &["export", &hash, "--dir", out.to_str().unwrap()],
    ));
    std::fs::write(body, "not mine").unwrap();
    let refused = run(
        home.path(),
        &client,
        &["export", &hash, "--dir", out.to_str().unwrap()],
    );
    assert_eq!(refused.code, 1);
    assert!(
        refused.err.contains("another file is already there"),
        "{}",
        refused.err
    );
    assert_eq!(std::fs::read_to_string(body).unwrap(), "not mine");

    // A thread not yet stored is fetched from its magnet link.
    let stranger = SecretKey::generate().unwrap();
    let post = PostDraft::new("a thread from elsewhere")
        .unwrap()
        .sign(&stranger, upseed_node::now())
        .unwrap();
    client.offer(&post.torrent_bytes::<&str>(&[]), b"a thread from elsewhere");
    let magnet = format!("magnet:?xt=urn:btih:{}", post.infohash());
    let thread = ok(run(home.path(), &client, &["thread", &magnet]));
    assert!(
        thread.out.contains("a thread from elsewhere"),
        "{}",
        thread.out
    );

    // Prefixes: none matches, or several do.
    let none = run(home.path(), &client, &["show", "ffffff"]);
    assert!(
        none.err
            .contains("full 40-digit infohash or the magnet link"),
        "{}",
        none.err
    );
}

#[test]
fn the_author_counts_at_once_and_a_queued_torrent_is_told() {
    let home = tempfile::tempdir().unwrap();
    let client = FakeClient::new();
    init(home.path(), &client);
    let posted = ok(run(
        home.path(),
        &client,
        &["post", "--title", "mine", "text"],
    ));
    assert!(!posted.err.contains("queued"), "{}", posted.err);
    let feed = ok(run(home.path(), &client, &["feed"]));
    assert!(feed.out.contains("1 seeder ·"), "{}", feed.out);

    client.set_queueing(upseed_core::QueueReport {
        queueing: true,
        max_active_uploads: Some(1),
        max_active_torrents: Some(1),
    });
    let queued = ok(run(home.path(), &client, &["post", "held back"]));
    assert!(
        queued
            .err
            .contains("qBittorrent queued it instead of seeding it")
            && queued.err.contains("Torrent Queueing"),
        "{}",
        queued.err
    );
    let post = PostDraft::new("a stranger's post")
        .unwrap()
        .sign(&SecretKey::generate().unwrap(), upseed_node::now())
        .unwrap();
    client.offer(&post.torrent_bytes::<&str>(&[]), b"a stranger's post");
    let hash = post.infohash().to_string();
    ok(run(home.path(), &client, &["show", &hash]));
    let up = ok(run(home.path(), &client, &["upvote", &hash]));
    assert_eq!(
        up.out,
        format!("upvoted {hash}: your client holds it, but queued (see the warning above)\n")
    );
    assert!(
        up.err.contains("queued it instead of seeding"),
        "{}",
        up.err
    );
}

#[test]
fn an_unreachable_dht_warns_once_with_the_setting_and_doctor_checks_it() {
    let home = tempfile::tempdir().unwrap();
    let client = FakeClient::new();
    init(home.path(), &client);
    let dht = [
        ("UPSEED_DHT_ENABLED", "true"),
        ("UPSEED_DHT_BOOTSTRAP", "127.0.0.1:9"),
        ("UPSEED_DHT_REQUEST_TIMEOUT_MS", "300"),
    ];
    let posted = run_vars(
        home.path(),
        &client,
        &dht,
        &["post", "--community", "rust", "through no DHT"],
    );
    assert_eq!(posted.code, 0, "{}", posted.err);
    let warnings: Vec<&str> = posted
        .err
        .lines()
        .filter(|l| l.starts_with("warning:"))
        .collect();
    assert_eq!(warnings.len(), 1, "{}", posted.err);
    assert!(
        warnings[0].contains("the DHT is unreachable")
            && warnings[0].contains("UPSEED_DHT_ENABLED=false"),
        "{}",
        warnings[0]
    );

    let doctor = run_vars(home.path(), &client, &dht, &["doctor", "--json"]);
    let checks: serde_json::Value = serde_json::from_str(&doctor.out).unwrap();
    let check = |checks: &serde_json::Value| {
        checks["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == "dht")
            .cloned()
            .expect("a dht check")
    };
    let unreachable = check(&checks);
    assert_eq!(unreachable["outcome"], "warn", "{unreachable}");
    assert!(
        unreachable["detail"]
            .as_str()
            .unwrap()
            .contains("enabled = false"),
        "{unreachable}"
    );
    let off = run(home.path(), &client, &["doctor", "--json"]);
    let off = check(&serde_json::from_str(&off.out).unwrap());
    assert_eq!(off["outcome"], "ok", "{off}");
    assert!(off["detail"].as_str().unwrap().starts_with("off"), "{off}");
}

#[test]
fn every_command_prints_one_json_object() {
    let home = tempfile::tempdir().unwrap();
    let client = FakeClient::new();
    init(home.path(), &client);
    let doc = |args: &[&str]| -> serde_json::Value {
        let ran = ok(run(home.path(), &client, args));
        let value: serde_json::Value =
            serde_json::from_str(&ran.out).unwrap_or_else(|e| panic!("{args:?}: {e}: {}", ran.out));
        assert!(value.is_object(), "{args:?}: {value}");
        value
    };
    let posted = doc(&["post", "--json", "--title", "t", "json"]);
    let hash = posted["infohash"].as_str().unwrap().to_owned();
    assert_eq!(posted["queued"], false);
    assert_eq!(posted["record"]["infohash"], hash.as_str());
    let stranger = PostDraft::new("theirs")
        .unwrap()
        .sign(&SecretKey::generate().unwrap(), upseed_node::now())
        .unwrap();
    client.offer(&stranger.torrent_bytes::<&str>(&[]), b"theirs");
    let theirs = stranger.infohash().to_string();
    let up = doc(&["upvote", "--json", &theirs]);
    assert_eq!(up["how"], "downloaded", "{up}");
    assert_eq!(up["infohash"], theirs.as_str());
    assert_eq!(
        doc(&["unvote", "--json", &theirs])["infohash"],
        theirs.as_str()
    );
    let pinned = doc(&["pin", "--json", &hash]);
    assert_eq!(
        (pinned["pinned"].clone(), pinned["changed"].clone()),
        (true.into(), true.into())
    );
    assert_eq!(doc(&["unpin", "--json", &hash])["pinned"], false);
    let key = doc(&["key", "show", "--json"]);
    let z32 = key["public_key"].as_str().unwrap().to_owned();
    assert_eq!(key["hex"].as_str().unwrap().len(), 64);
    let other = SecretKey::generate().unwrap().public_key().to_string();
    let follow = doc(&["follow", "--json", &other]);
    assert_eq!(follow["following"], true);
    assert_eq!(doc(&["unfollow", "--json", &other])["changed"], true);
    assert_eq!(doc(&["profile", "--json", "--name", "bo"])["name"], "bo");
    assert_ne!(z32, other);
    let feed = doc(&["feed", "--json", "--sort", "top", "--window", "week"]);
    assert_eq!(
        (feed["sort"].as_str(), feed["window"].as_str()),
        (Some("top"), Some("week"))
    );
    let back: upseed::render::FeedJson = serde_json::from_value(feed).unwrap();
    assert_eq!(
        back.sort,
        upseed_core::rank::Sort::Top(upseed_core::rank::Window::Week)
    );
    let doctor = doc(&["doctor", "--json"]);
    assert_eq!(doctor["failed"], 0, "{doctor}");
    for args in [
        &["status", "--json"][..],
        &["gc", "--json", "--dry-run"],
        &["sync", "--json"],
    ] {
        doc(args);
    }
}

#[test]
fn without_a_config_flag_files_follow_the_xdg_layout() {
    let home = tempfile::tempdir().unwrap();
    let client = FakeClient::new();
    let vars = [("HOME", home.path().to_str().unwrap())];
    let init = exec(
        &client,
        &vars,
        b"",
        false,
        &[
            "init",
            "--client",
            "qbittorrent",
            "--url",
            "http://127.0.0.1:9/",
        ],
    );
    assert_eq!(init.code, 0, "{}", init.err);
    let config_dir = home.path().join(".config/upseed");
    let data_dir = home.path().join(".local/share/upseed");
    assert!(config_dir.join("config.toml").exists() && config_dir.join("identity.key").exists());
    let text = std::fs::read_to_string(config_dir.join("config.toml")).unwrap();
    assert!(
        text.contains(&format!("dir = \"{}\"", data_dir.join("posts").display())),
        "{text}"
    );
    let posted = exec(
        &client,
        &vars,
        b"",
        false,
        &["post", "stored in the data folder"],
    );
    assert_eq!(posted.code, 0, "{}", posted.err);
    assert!(data_dir.join("store.db").exists());
    assert!(!config_dir.join("store.db").exists());
}

#[test]
fn verbosity_and_the_config_as_shown() {
    let home = tempfile::tempdir().unwrap();
    let client = FakeClient::new();
    init(home.path(), &client);
    let loud = ok(run(home.path(), &client, &["-v", "sync"]));
    assert!(
        loud.err.contains("asking the client…") && loud.err.contains("asking the client: done"),
        "{}",
        loud.err
    );
    let normal = ok(run(home.path(), &client, &["sync"]));
    assert!(!normal.err.contains("asking the client"), "{}", normal.err);
    assert_eq!(
        run(home.path(), &client, &["-q", "-v", "sync"]).code,
        2,
        "-q and -v conflict"
    );
    let shown = ok(run_vars(
        home.path(),
        &client,
        &[("UPSEED_SEEDING_MAX_TORRENTS", "50")],
        &["config", "show"],
    ));
    // Paths vary with the temporary folder, and so does their padding.
    let text: String = shown
        .out
        .replace(home.path().to_str().unwrap(), "HOME")
        .lines()
        .map(|l| match l.split_once("  ") {
            Some((value, source)) => format!("{value}  {}\n", source.trim_start()),
            None => format!("{l}\n"),
        })
        .collect();
    insta::assert_snapshot!("config-show", text);
}

#[test]
fn search_finds_words_authors_and_communities_in_process() {
    let home = tempfile::tempdir().unwrap();
    let client = FakeClient::new();
    init(home.path(), &client);
    ok(run(home.path(), &client, &["profile", "--name", "alice"]));
    let compost = ok(run(
        home.path(),
        &client,
        &[
            "post",
            "--title",
            "Compost",
            "--community",
            "garden",
            "Turn the heap weekly",
        ],
    ))
    .out
    .lines()
    .next()
    .unwrap()
    .to_owned();
    let bread = ok(run(
        home.path(),
        &client,
        &["post", "Sourdough likes a warm heap of flour"],
    ))
    .out
    .lines()
    .next()
    .unwrap()
    .to_owned();
    ok(run(
        home.path(),
        &client,
        &["comment", &compost, "Mine is a hot heap"],
    ));

    let found = ok(run(
        home.path(),
        &client,
        &["search", "heap", "community:garden"],
    ));
    assert!(found.out.contains("Compost"), "{}", found.out);
    assert!(
        found.out.contains("comment in "),
        "the comment is in the garden thread: {}",
        found.out
    );
    assert!(!found.out.contains("Sourdough"), "{}", found.out);

    let key = ok(run(home.path(), &client, &["key", "show"])).out;
    for author in ["alice", "ALICE", &key.trim()[..8]] {
        let json: serde_json::Value = serde_json::from_str(
            &ok(run(
                home.path(),
                &client,
                &["search", "--json", "flour", &format!("author:{author}")],
            ))
            .out,
        )
        .unwrap();
        assert_eq!(
            json["items"][0]["record"]["infohash"],
            bread.as_str(),
            "{author}: {json}"
        );
        assert_eq!(json["items"][0]["author_name"], "alice");
        let hits: Vec<&str> = json["items"][0]["snippet"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["hit"] == true)
            .map(|p| p["text"].as_str().unwrap())
            .collect();
        assert_eq!(hits, vec!["flour"]);
    }
    let nobody = ok(run(home.path(), &client, &["search", "heap", "author:bob"]));
    assert!(
        nobody.out.starts_with("nothing in your store matches"),
        "{}",
        nobody.out
    );

    // Prefixes, paging and order.
    let page = ok(run(
        home.path(),
        &client,
        &["search", "--json", "hea*", "--limit", "1", "--offset", "1"],
    ));
    let json: serde_json::Value = serde_json::from_str(&page.out).unwrap();
    assert_eq!(json["items"].as_array().unwrap().len(), 1);
    assert_eq!(json["offset"], 1);
    ok(run(
        home.path(),
        &client,
        &["search", "heap", "--order", "relevance"],
    ));

    // A query that says nothing, or twice, is a usage error.
    let empty = run(home.path(), &client, &["search", "--", "*"]);
    assert_eq!(empty.code, 2, "{}", empty.err);
    assert!(empty.err.contains("no letters or digits"), "{}", empty.err);
    let twice = run(
        home.path(),
        &client,
        &["search", "community:a", "community:b"],
    );
    assert_eq!(twice.code, 2);
    assert!(twice.err.contains("given twice"), "{}", twice.err);
}

#[test]
fn a_post_opened_in_the_clients_own_window_is_claimed_as_an_upvote() {
    let home = tempfile::tempdir().unwrap();
    let client = FakeClient::new();
    init(home.path(), &client);
    let elsewhere = home.path().join("client-downloads");
    let stranger = SecretKey::generate().unwrap();
    let post = PostDraft::new("opened from a magnet link in the client")
        .unwrap()
        .sign(&stranger, upseed_node::now())
        .unwrap();
    let torrent = post.torrent_bytes::<&str>(&[]);
    client.user_added(
        &torrent,
        b"opened from a magnet link in the client",
        &elsewhere,
    );
    let hash = post.infohash().to_string();
    assert!(
        client
            .torrents()
            .iter()
            .all(|t| t.infohash != post.infohash()),
        "not ours yet"
    );

    // Transmission names the torrent in TR_TORRENT_HASH.
    let ran = ok(run_vars(
        home.path(),
        &client,
        &[("TR_TORRENT_HASH", &hash)],
        &["ingest"],
    ));
    assert!(
        ran.out.starts_with(&format!("upvoted {hash}")),
        "{}",
        ran.out
    );
    let claimed = client
        .torrents()
        .into_iter()
        .find(|t| t.infohash == post.infohash())
        .unwrap();
    assert!(
        claimed.tags.iter().any(|t| t == "upseed-vote"),
        "{:?}",
        claimed.tags
    );
    let status: serde_json::Value =
        serde_json::from_str(&ok(run(home.path(), &client, &["status", "--json"])).out).unwrap();
    assert_eq!(status["seeded"], 1, "{status}");
    let again = ok(run(home.path(), &client, &["ingest", "--json", &hash]));
    let doc: serde_json::Value = serde_json::from_str(&again.out).unwrap();
    assert_eq!(doc["outcome"], "already_ours");
    // Unvoting it later leaves the user's own file where the client saved it.
    ok(run(home.path(), &client, &["unvote", &hash]));
    assert!(
        client.removals().contains(&(post.infohash(), false)),
        "{:?}",
        client.removals()
    );

    // A torrent whose file is not the signed text is left untouched.
    let other = PostDraft::new("the real text")
        .unwrap()
        .sign(&stranger, upseed_node::now())
        .unwrap();
    client.user_added(
        &other.torrent_bytes::<&str>(&[]),
        b"the fake text",
        &elsewhere.join("2"),
    );
    let refused = ok(run(
        home.path(),
        &client,
        &["ingest", "--json", &other.infohash().to_string()],
    ));
    let doc: serde_json::Value = serde_json::from_str(&refused.out).unwrap();
    assert_eq!(doc["outcome"], "not_a_record", "{doc}");
    assert!(
        client
            .torrents()
            .iter()
            .all(|t| t.infohash != other.infohash()),
        "left alone"
    );
    assert_eq!(
        std::fs::read(elsewhere.join("2").join(other.name())).unwrap(),
        b"the fake text"
    );

    let unknown = run(home.path(), &client, &["ingest", &"ab".repeat(20)]);
    assert_eq!(unknown.code, 1);
    assert!(unknown.err.contains("does not hold"), "{}", unknown.err);
    let bad = run(home.path(), &client, &["ingest", "nothex"]);
    assert_eq!(bad.code, 2, "{}", bad.err);

    // Installing the hook writes an executable script and sets the client.
    let doctor = ok(run(home.path(), &client, &["doctor"])).out;
    assert!(doctor.contains("upseed ingest --install"), "{doctor}");
    let installed = ok(run(
        home.path(),
        &client,
        &["ingest", "--install", "--json"],
    ));
    let doc: serde_json::Value = serde_json::from_str(&installed.out).unwrap();
    let hook = std::path::PathBuf::from(doc["hook"].as_str().unwrap());
    let script = std::fs::read_to_string(&hook).unwrap();
    assert!(script.contains("ingest \"$@\""), "{script}");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&hook).unwrap().permissions().mode() & 0o777,
        0o700
    );
    assert!(client.hook().unwrap().contains(hook.to_str().unwrap()));
    let doctor = ok(run(home.path(), &client, &["doctor"])).out;
    assert!(doctor.contains("count as upvotes"), "{doctor}");
}

#[test]
fn another_program_the_client_runs_is_kept_unless_replaced() {
    use upseed_core::TorrentClient;
    let home = tempfile::tempdir().unwrap();
    let client = FakeClient::new();
    init(home.path(), &client);
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(client.set_completion_hook("/usr/local/bin/notify-me"))
        .unwrap();
    let kept = run(home.path(), &client, &["ingest", "--install"]);
    assert_eq!(kept.code, 1);
    assert!(
        kept.err.contains("/usr/local/bin/notify-me") && kept.err.contains("--replace"),
        "{}",
        kept.err
    );
    assert_eq!(client.hook().as_deref(), Some("/usr/local/bin/notify-me"));
    ok(run(
        home.path(),
        &client,
        &["ingest", "--install", "--replace"],
    ));
    assert!(client.hook().unwrap().ends_with("ingest-hook"));
}

/// The first line of a command's output: a posted record's infohash.
fn first_line(ran: Ran) -> String {
    ran.out.lines().next().unwrap().to_owned()
}

#[test]
fn mutes_hide_what_they_cover_and_stop_seeding_it_in_process() {
    let home = tempfile::tempdir().unwrap();
    let client = FakeClient::new();
    init(home.path(), &client);
    let mine = first_line(ok(run(
        home.path(),
        &client,
        &[
            "post",
            "--title",
            "Compost",
            "--community",
            "garden",
            "Turn the heap",
        ],
    )));
    let bob = SecretKey::generate().unwrap();
    let offer = |record: &upseed_core::Record, text: &str| {
        client.offer(&record.torrent_bytes::<&str>(&[]), text.as_bytes());
        record.infohash().to_string()
    };
    let sign = |key: &SecretKey, text: &str, community: Option<&str>| {
        let mut draft = PostDraft::new(text).unwrap();
        if let Some(c) = community {
            draft = draft.community(c).unwrap();
        }
        draft.sign(key, upseed_node::now()).unwrap()
    };
    let bobs = offer(&sign(&bob, "bob on heaps", None), "bob on heaps");
    let carol = SecretKey::generate().unwrap();
    let spoiler = offer(
        &sign(&carol, "the finale: Spoilers ahead", None),
        "the finale: Spoilers ahead",
    );
    let politics = offer(
        &sign(&carol, "an election heap", Some("politics")),
        "an election heap",
    );
    let mine_hash: upseed_core::InfoHash = mine.parse().unwrap();
    let reply = upseed_core::CommentDraft::new("bob replies to the heap", mine_hash, mine_hash)
        .unwrap()
        .sign(&bob, upseed_node::now())
        .unwrap();
    let reply_hash = offer(&reply, "bob replies to the heap");
    ok(run(home.path(), &client, &["upvote", &bobs]));
    for hash in [&spoiler, &politics, &reply_hash] {
        ok(run(home.path(), &client, &["show", hash]));
    }
    let feed = ok(run(home.path(), &client, &["feed", "--sort", "new"]));
    assert!(feed.out.contains("bob on heaps"), "{}", feed.out);

    // An author: gone from the feed, the thread and search, and unseeded.
    let muted = ok(run(
        home.path(),
        &client,
        &["mute", "author", &bob.public_key().to_z32()],
    ));
    assert!(muted.out.starts_with("muted author "), "{}", muted.out);
    assert!(muted.out.contains("stopped seeding 1 "), "{}", muted.out);
    assert!(
        !client.holds(bobs.parse().unwrap()),
        "a muted upvote is unseeded"
    );
    let feed = ok(run(home.path(), &client, &["feed", "--sort", "new"]));
    assert!(!feed.out.contains("bob on heaps"), "{}", feed.out);
    assert!(
        feed.out
            .contains("1 post hidden by your mutes; --show-muted shows them"),
        "{}",
        feed.out
    );
    let shown = ok(run(
        home.path(),
        &client,
        &["feed", "--sort", "new", "--show-muted"],
    ));
    assert!(
        shown.out.contains("[muted: the muted author "),
        "{}",
        shown.out
    );
    assert!(shown.out.contains("bob on heaps"), "{}", shown.out);
    let thread = ok(run(home.path(), &client, &["thread", &mine]));
    assert!(!thread.out.contains("bob replies"), "{}", thread.out);
    assert!(thread.out.contains("1 comment hidden"), "{}", thread.out);
    let found = ok(run(home.path(), &client, &["search", "--json", "heap*"]));
    let found: serde_json::Value = serde_json::from_str(&found.out).unwrap();
    assert_eq!(found["hidden"], 2, "bob's post and reply: {found}");
    assert_eq!(found["items"].as_array().unwrap().len(), 2, "{found}");

    // A word, whole and case-insensitive, for a while; a community.
    let word = ok(run(
        home.path(),
        &client,
        &["mute", "word", "SPOILERS", "--for", "1h", "--json"],
    ));
    let word: serde_json::Value = serde_json::from_str(&word.out).unwrap();
    assert_eq!(word["mute"]["value"], "spoilers");
    assert!(word["mute"]["until"].as_u64().unwrap() > upseed_node::now());
    ok(run(home.path(), &client, &["mute", "word", "spoil"]));
    ok(run(
        home.path(),
        &client,
        &["mute", "community", "Politics"],
    ));
    let feed: serde_json::Value = serde_json::from_str(
        &ok(run(
            home.path(),
            &client,
            &["feed", "--sort", "new", "--json"],
        ))
        .out,
    )
    .unwrap();
    let items = feed["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "only my own post is left: {feed}");
    assert_eq!(items[0]["record"]["infohash"], mine.as_str());
    assert_eq!(feed["hidden"], 3, "{feed}");

    // A thread of my own: kept seeding unless asked.
    let kept = ok(run(home.path(), &client, &["mute", "thread", &mine[..10]]));
    assert!(kept.out.contains("pass --include-own"), "{}", kept.out);
    assert!(client.holds(mine_hash));
    let thread = ok(run(home.path(), &client, &["thread", &mine]));
    assert!(
        thread.out.starts_with("[muted: the muted thread "),
        "{}",
        thread.out
    );
    let stopped = ok(run(
        home.path(),
        &client,
        &["mute", "thread", &mine, "--include-own", "--json"],
    ));
    let stopped: serde_json::Value = serde_json::from_str(&stopped.out).unwrap();
    assert_eq!(stopped["new"], false);
    assert_eq!(stopped["unseeded"][0], mine.as_str());
    assert!(!client.holds(mine_hash));

    let list: serde_json::Value =
        serde_json::from_str(&ok(run(home.path(), &client, &["mutes", "--json"])).out).unwrap();
    let kinds: Vec<&str> = list["mutes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["author", "community", "thread", "word", "word"]);
    let text = ok(run(home.path(), &client, &["mutes"])).out;
    assert!(text.contains("word \"spoilers\" (until "), "{text}");

    // Unmuted, bob is back.
    for (kind, value) in [
        ("author", bob.public_key().to_z32()),
        ("thread", mine.clone()),
        ("community", "politics".to_owned()),
    ] {
        let undone = ok(run(home.path(), &client, &["unmute", kind, &value]));
        assert!(undone.out.starts_with("unmuted "), "{}", undone.out);
    }
    let again = ok(run(
        home.path(),
        &client,
        &["unmute", "community", "politics"],
    ));
    assert!(again.out.contains("was not muted"), "{}", again.out);
    let feed = ok(run(home.path(), &client, &["feed", "--sort", "new"]));
    assert!(feed.out.contains("bob on heaps"), "{}", feed.out);
    assert!(
        feed.out.contains("1 post hidden"),
        "the spoiler still is: {}",
        feed.out
    );

    // Bad input: a usage error that says the fix, and nothing changed.
    for (args, says) in [
        (&["mute", "word", "!!!"][..], "has no letters or digits"),
        (
            &["mute", "author", "nobody"],
            "no author you know is named `nobody`",
        ),
        (&["mute", "community", "no/slash"], "not a valid community"),
    ] {
        let refused = run(home.path(), &client, args);
        assert_eq!(refused.code, 2, "{args:?}: {}", refused.err);
        assert!(refused.err.contains(says), "{args:?}: {}", refused.err);
    }
    let long = "word ".repeat(9);
    let refused = run(home.path(), &client, &["mute", "word", &long]);
    assert!(refused.err.contains("too long"), "{}", refused.err);
    let list: serde_json::Value =
        serde_json::from_str(&ok(run(home.path(), &client, &["mutes", "--json"])).out).unwrap();
    assert_eq!(list["mutes"].as_array().unwrap().len(), 2, "{list}");
}

#[test]
fn edits_and_deletes_keep_the_id_and_show_everywhere_in_process() {
    let home = tempfile::tempdir().unwrap();
    let client = FakeClient::new();
    init(home.path(), &client);
    let post = first_line(ok(run(
        home.path(),
        &client,
        &[
            "post",
            "--title",
            "Compost",
            "--community",
            "garden",
            "Turn the heap weekly",
        ],
    )));
    let comment = first_line(ok(run(
        home.path(),
        &client,
        &["comment", &post, "Mine is hot"],
    )));
    let post_hash: upseed_core::InfoHash = post.parse().unwrap();

    // An edit: same id, community, comments; the new text everywhere.
    let edited: serde_json::Value = serde_json::from_str(
        &ok(run(
            home.path(),
            &client,
            &["edit", &post[..10], "Turn the heap daily", "--json"],
        ))
        .out,
    )
    .unwrap();
    assert_eq!(
        (edited["seq"].as_u64(), edited["deleted"].as_bool()),
        (Some(1), Some(false))
    );
    let new: upseed_core::InfoHash = edited["replacement"].as_str().unwrap().parse().unwrap();
    assert!(client.holds(new), "the new version is seeded");
    assert!(!client.holds(post_hash), "the old version is not");
    assert!(
        home.path().join("posts").read_dir().unwrap().count() >= 3,
        "every file of ours is kept"
    );
    let feed: serde_json::Value =
        serde_json::from_str(&ok(run(home.path(), &client, &["feed", "--json"])).out).unwrap();
    let items = feed["items"].as_array().unwrap();
    assert_eq!(
        items.len(),
        1,
        "the new version is not a post of its own: {feed}"
    );
    assert_eq!(items[0]["record"]["infohash"], post.as_str());
    assert_eq!(items[0]["edit"]["latest"]["body"], "Turn the heap daily");
    assert_eq!(items[0]["edit"]["latest"]["title"], "Compost");
    assert_eq!(items[0]["edit"]["latest"]["community"], "garden");
    assert_eq!(items[0]["comments"], 1);
    let text = ok(run(home.path(), &client, &["feed"])).out;
    assert!(
        text.contains("Compost (edited)") && text.contains("daily"),
        "{text}"
    );
    let thread = ok(run(home.path(), &client, &["thread", &post])).out;
    assert!(
        thread.contains("Turn the heap daily") && thread.contains("Mine is hot"),
        "{thread}"
    );
    assert!(!thread.contains("weekly"), "{thread}");
    // A muted word that only the new text holds hides the post.
    ok(run(home.path(), &client, &["mute", "word", "daily"]));
    let feed: serde_json::Value =
        serde_json::from_str(&ok(run(home.path(), &client, &["feed", "--json"])).out).unwrap();
    assert_eq!(
        (
            feed["items"].as_array().unwrap().len(),
            feed["hidden"].as_u64()
        ),
        (0, Some(1))
    );
    ok(run(home.path(), &client, &["unmute", "word", "daily"]));
    let found: serde_json::Value =
        serde_json::from_str(&ok(run(home.path(), &client, &["search", "--json", "daily"])).out)
            .unwrap();
    assert_eq!(
        found["items"][0]["record"]["infohash"],
        post.as_str(),
        "{found}"
    );

    // A second edit, then a comment's.
    ok(run(
        home.path(),
        &client,
        &["edit", &post, "Third words", "--title", "Heaps"],
    ));
    let comment_edit = ok(run(
        home.path(),
        &client,
        &["edit", &comment, "Mine is warm"],
    ));
    assert!(
        comment_edit.out.starts_with("edited "),
        "{}",
        comment_edit.out
    );
    let thread: serde_json::Value =
        serde_json::from_str(&ok(run(home.path(), &client, &["thread", &post, "--json"])).out)
            .unwrap();
    assert_eq!(thread["post"]["edit"]["latest"]["title"], "Heaps");
    assert_eq!(thread["post"]["edit"]["versions"], 2);
    assert_eq!(
        thread["post"]["edit"]["earlier"][0]["body"], "Turn the heap daily",
        "the history between the first and the latest: {thread}"
    );
    let comments = thread["comments"].as_array().unwrap();
    assert_eq!(
        comments.len(),
        1,
        "a new version is not a comment of its own: {thread}"
    );
    assert_eq!(comments[0]["edit"]["latest"]["body"], "Mine is warm");

    // A later version is not the record's id.
    let refused = run(home.path(), &client, &["edit", &new.to_string(), "x"]);
    assert_eq!(refused.code, 2, "{}", refused.err);
    assert!(
        refused.err.contains("is a later version of"),
        "{}",
        refused.err
    );

    // A delete: final, shown as deleted, the comments kept, nothing seeded.
    let deleted = ok(run(home.path(), &client, &["delete", &post]));
    assert!(deleted.out.starts_with("deleted "), "{}", deleted.out);
    let text = ok(run(home.path(), &client, &["feed"])).out;
    assert!(
        text.contains("[deleted]") && !text.contains("Heaps"),
        "{text}"
    );
    let thread = ok(run(home.path(), &client, &["thread", &post])).out;
    assert!(
        thread.contains("(deleted by its author)") && thread.contains("Mine is warm"),
        "{thread}"
    );
    let held: Vec<upseed_core::InfoHash> = client.torrents().iter().map(|t| t.infohash).collect();
    assert!(
        !held.contains(&post_hash) && !held.contains(&new),
        "{held:?}"
    );
    for args in [&["edit", &post, "again"][..], &["delete", &post]] {
        let refused = run(home.path(), &client, args);
        assert_eq!(refused.code, 2, "{args:?}");
        assert!(refused.err.contains("a delete is final"), "{}", refused.err);
    }

    // Someone else's record cannot be edited.
    let theirs = PostDraft::new("theirs")
        .unwrap()
        .sign(&SecretKey::generate().unwrap(), upseed_node::now())
        .unwrap();
    client.offer(&theirs.torrent_bytes::<&str>(&[]), b"theirs");
    ok(run(
        home.path(),
        &client,
        &["show", &theirs.infohash().to_string()],
    ));
    let refused = run(
        home.path(),
        &client,
        &["delete", &theirs.infohash().to_string()],
    );
    assert_eq!(refused.code, 2);
    assert!(
        refused
            .err
            .contains("only its author can edit or delete it"),
        "{}",
        refused.err
    );
}

#[test]
fn mute_lists_are_published_and_subscribed_in_process() {
    let home = tempfile::tempdir().unwrap();
    let client = FakeClient::new();
    init(home.path(), &client);
    ok(run(home.path(), &client, &["mute", "word", "spoilers"]));
    let published = ok(run(home.path(), &client, &["mutes", "publish"])).out;
    assert!(
        published.contains("published your mute list: 1 entry"),
        "{published}"
    );
    assert!(published.contains("the DHT is off"), "{published}");

    // A list too long for one item is a torrent the client seeds; a
    // shorter one later stops it.
    for i in 0..60 {
        ok(run(
            home.path(),
            &client,
            &["mute", "word", &format!("noise{i}")],
        ));
    }
    let long: serde_json::Value =
        serde_json::from_str(&ok(run(home.path(), &client, &["mutes", "publish", "--json"])).out)
            .unwrap();
    assert_eq!(long["entries"], 61);
    let torrent: upseed_core::InfoHash = long["torrent"].as_str().unwrap().parse().unwrap();
    assert!(client.holds(torrent));
    for i in 0..60 {
        ok(run(
            home.path(),
            &client,
            &["unmute", "word", &format!("noise{i}")],
        ));
    }
    let short: serde_json::Value =
        serde_json::from_str(&ok(run(home.path(), &client, &["mutes", "publish", "--json"])).out)
            .unwrap();
    assert_eq!(
        (short["entries"].as_u64(), short["torrent"].is_null()),
        (Some(1), true)
    );
    assert!(!client.holds(torrent), "the old list's torrent stops");

    // Subscribing with the DHT off waits for a sync with it.
    let other = SecretKey::generate().unwrap().public_key().to_z32();
    let subscribed = ok(run(home.path(), &client, &["mutes", "subscribe", &other])).out;
    assert!(subscribed.contains("not read yet"), "{subscribed}");
    let again = ok(run(home.path(), &client, &["mutes", "subscribe", &other])).out;
    assert!(again.contains("(already subscribed)"), "{again}");
    let listed: serde_json::Value =
        serde_json::from_str(&ok(run(home.path(), &client, &["mutes", "--json"])).out).unwrap();
    assert_eq!(listed["published"], true);
    assert_eq!(listed["lists"][0]["author"], other.as_str());
    assert!(listed["lists"][0]["created"].is_null());
    let text = ok(run(home.path(), &client, &["mutes"])).out;
    assert!(
        text.contains(&format!(
            "subscribed to the mute list of {other}: 0 entries; not read yet"
        )),
        "{text}"
    );

    // Bad input: a usage error that says the fix.
    let me = ok(run(home.path(), &client, &["key", "show"])).out;
    for (args, says) in [
        (vec!["mutes", "subscribe", me.trim()], "is your own key"),
        (
            vec!["mutes", "subscribe", "nobody"],
            "no author you know is named `nobody`",
        ),
    ] {
        let refused = run(home.path(), &client, &args);
        assert_eq!(refused.code, 2, "{args:?}: {}", refused.err);
        assert!(refused.err.contains(says), "{args:?}: {}", refused.err);
    }

    let gone = ok(run(home.path(), &client, &["mutes", "unsubscribe", &other])).out;
    assert!(gone.starts_with("unsubscribed from"), "{gone}");
    let gone = ok(run(home.path(), &client, &["mutes", "unsubscribe", &other])).out;
    assert!(gone.contains("were not subscribed"), "{gone}");
    let stopped: serde_json::Value =
        serde_json::from_str(&ok(run(home.path(), &client, &["mutes", "unpublish", "--json"])).out)
            .unwrap();
    assert_eq!(
        (stopped["published"].as_bool(), stopped["entries"].as_u64()),
        (Some(false), Some(0))
    );
    let listed: serde_json::Value =
        serde_json::from_str(&ok(run(home.path(), &client, &["mutes", "--json"])).out).unwrap();
    assert_eq!(listed["published"], false);
    assert_eq!(listed["mutes"].as_array().unwrap().len(), 1, "mutes stay");
}

#[test]
fn feeds_rank_by_trusted_count_once_you_follow_a_few_in_process() {
    let home = tempfile::tempdir().unwrap();
    let client = FakeClient::new();
    init(home.path(), &client);
    let mine = first_line(ok(run(
        home.path(),
        &client,
        &["post", "--title", "Mine", "my own words"],
    )));
    let theirs = PostDraft::new("a crowd seeds this")
        .unwrap()
        .title("Crowded")
        .unwrap()
        .sign(&SecretKey::generate().unwrap(), upseed_node::now())
        .unwrap();
    client.offer(&theirs.torrent_bytes::<&str>(&[]), b"a crowd seeds this");
    let hash = theirs.infohash().to_string();
    ok(run(home.path(), &client, &["upvote", &hash]));
    client.set_counts(theirs.infohash(), 50, 50);
    ok(run(home.path(), &client, &["sync"]));
    let order = |args: &[&str]| -> (String, Vec<String>, Vec<u64>) {
        let mut all = vec!["feed", "--json", "--sort", "top"];
        all.extend_from_slice(args);
        let feed: serde_json::Value =
            serde_json::from_str(&ok(run(home.path(), &client, &all)).out).unwrap();
        let items = feed["items"].as_array().unwrap();
        (
            feed["by"].as_str().unwrap().to_owned(),
            items
                .iter()
                .map(|i| i["record"]["infohash"].as_str().unwrap().to_owned())
                .collect(),
            items
                .iter()
                .map(|i| i["trusted"].as_u64().unwrap())
                .collect(),
        )
    };
    assert_eq!(
        order(&[]),
        (
            "seeders".into(),
            vec![hash.clone(), mine.clone()],
            vec![0, 1]
        )
    );
    assert_eq!(
        order(&["--by", "trusted"]),
        (
            "trusted".into(),
            vec![mine.clone(), hash.clone()],
            vec![1, 0]
        ),
        "your own post counts you; the crowd counts for nothing"
    );
    let text = ok(run(home.path(), &client, &["feed", "--by", "trusted"])).out;
    assert!(text.contains("1 trusted · "), "{text}");
    assert!(text.contains("0 trusted · 50 seeders"), "{text}");
    // Following three keys makes trusted counts the default.
    for _ in 0..3 {
        let key = SecretKey::generate().unwrap().public_key().to_z32();
        ok(run(home.path(), &client, &["follow", &key]));
    }
    assert_eq!(order(&[]).0, "trusted");
    assert_eq!(order(&["--by", "seeders"]).0, "seeders");
    let refused = run(home.path(), &client, &["feed", "--by", "crowd"]);
    assert_eq!(refused.code, 2, "{}", refused.err);
}

/// `init --client embedded` asks for no URL, user or password, starts the
/// engine once to check its folder and port, and writes a config whose
/// client is the engine.
#[test]
fn init_on_the_embedded_engine_needs_no_client() {
    let home = tempfile::tempdir().unwrap();
    let client = FakeClient::new();
    let config = home.path().join("config.toml");
    let ran = exec(
        &client,
        &[],
        b"",
        false,
        &[
            "--config",
            config.to_str().unwrap(),
            "init",
            "--client",
            "embedded",
            "--tracker",
            "http://127.0.0.1:6969/announce",
        ],
    );
    assert_eq!(ran.code, 0, "{}", ran.err);
    assert!(
        ran.err.contains("the embedded engine starts"),
        "{}",
        ran.err
    );
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(text.contains("kind = \"embedded\""), "{text}");
    assert!(text.contains("# url = "), "{text}");
    assert!(!home.path().join("client-password").exists());
    assert!(home.path().join("engine").join("engine.lock").exists());
    assert!(
        !home.path().join("engine").join("engine.sock").exists(),
        "the test start leaves no socket behind"
    );
}
