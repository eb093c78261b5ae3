//! Killing the process at any point loses nothing acknowledged: a writer
//! child prints an acknowledgement after each committed change; the test
//! kills it with SIGKILL at varying points, reopens the store, and finds
//! every acknowledged change, with the database intact.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use upseed_core::retention::FadePolicy;
use upseed_core::{InfoHash, PostDraft, SecretKey};
use upseed_node::store::{Store, SwarmCount, Vote};

const CHILD: &str = "UPSEED_TEST_CRASH_STORE";

/// The child: writes until killed, acknowledging each commit on stdout.
fn write_forever(path: &str) -> ! {
    let mut store = Store::open(std::path::Path::new(path)).unwrap();
    let key = SecretKey::generate().unwrap();
    let mut out = std::io::stdout().lock();
    for n in 0u64.. {
        let record = PostDraft::new(&format!("post {n} {}", std::process::id()))
            .unwrap()
            .sign(&key, n)
            .unwrap();
        let hash = record.infohash();
        store.put_record(&record, n).unwrap();
        writeln!(out, "record {hash}").unwrap();
        store.set_vote(hash, Vote::Authored, n).unwrap();
        writeln!(out, "vote {hash}").unwrap();
        let count = SwarmCount {
            infohash: hash,
            source: "client".into(),
            seeders: Some(1),
            leechers: None,
            completed: None,
        };
        store
            .put_counts(&[count], n, &FadePolicy::default())
            .unwrap();
        writeln!(out, "count {hash}").unwrap();
        out.flush().unwrap();
    }
    unreachable!()
}

#[test]
fn a_killed_writer_loses_nothing_acknowledged() {
    if let Ok(path) = std::env::var(CHILD) {
        write_forever(&path);
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    let mut acknowledged = Vec::new();
    for (round, kill_after) in [3usize, 17, 40, 91, 150].into_iter().enumerate() {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "a_killed_writer_loses_nothing_acknowledged",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD, &path)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut seen = 0;
        while seen < kill_after {
            let line = lines.next().expect("the writer stopped early").unwrap();
            if let Some((what, hash)) = line.split_once(' ')
                && let Ok(hash) = hash.parse::<InfoHash>()
            {
                acknowledged.push((what.to_owned(), hash));
                seen += 1;
            }
        }
        child.kill().unwrap(); // SIGKILL, by PID, mid-stream
        child.wait().unwrap();

        let store = Store::open(&path).unwrap();
        for (what, hash) in &acknowledged {
            match what.as_str() {
                "record" => assert!(
                    store.record(*hash).unwrap().is_some(),
                    "round {round}: lost record {hash}"
                ),
                "vote" => assert_eq!(
                    store.vote(*hash).unwrap(),
                    Some(Vote::Authored),
                    "round {round}: lost vote {hash}"
                ),
                "count" => assert_eq!(
                    store.counts(*hash).unwrap().len(),
                    1,
                    "round {round}: lost count {hash}"
                ),
                other => panic!("unknown acknowledgement {other}"),
            }
        }
        let integrity: String = rusqlite::Connection::open(&path)
            .unwrap()
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(integrity, "ok", "round {round}");
    }
    assert!(acknowledged.len() >= 300);
}
