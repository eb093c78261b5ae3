//! The synthetic store the feed and web page benchmarks share: `n`
//! signed posts spread over a year with skewed seeder counts, a fifth of
//! them in four communities, and a 30-comment thread on every 10,000th.
//! Built once into `target/bench-data/` and reused; deterministic.

#![allow(dead_code, clippy::unwrap_used)]

use std::path::PathBuf;
use std::time::Instant;

use upseed_core::retention::FadePolicy;
use upseed_core::{CommentDraft, PostDraft, SecretKey};
use upseed_node::store::{Store, SwarmCount};

/// The clock a store of `n` posts was built at (the year of posts ends
/// there), kept in its `store.done`: the time of the first build.
pub(crate) fn now(n: usize) -> u64 {
    std::fs::read_to_string(home(n).join("store.done"))
        .ok()
        .and_then(|t| t.trim().parse().ok())
        .unwrap_or_else(upseed_node::now)
}
const YEAR: u64 = 31_557_600;

/// The folder of the store of `n` posts: an upseed home, so that
/// `upseed --config HOME/config.toml serve` can serve it.
pub(crate) fn home(n: usize) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("../target/bench-data/{n}"))
}

/// How many posts: `UPSEED_BENCH_POSTS`, else 1,000,000.
pub(crate) fn count() -> usize {
    std::env::var("UPSEED_BENCH_POSTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000_000)
}

/// Builds (or reuses) a store of `n` signed posts spread over a year, with
/// skewed seeder counts; deterministic.
pub(crate) fn store(n: usize) -> PathBuf {
    let dir = home(n);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("store.db");
    let done = dir.join("store.done");
    if done.exists() {
        return path;
    }
    for stale in ["store.db", "store.db-wal", "store.db-shm"] {
        let _ = std::fs::remove_file(dir.join(stale));
    }
    let start = Instant::now();
    let now = upseed_node::now();
    let keys: Vec<SecretKey> = (0..1000u16)
        .map(|i| {
            let mut seed = [7u8; 32];
            seed[..2].copy_from_slice(&i.to_be_bytes());
            SecretKey::from_seed(&seed)
        })
        .collect();
    let mut store = Store::open(&path).unwrap();
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let mut batch = Vec::with_capacity(10_000);
    let mut counts = Vec::with_capacity(10_000);
    for i in 0..n {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let text = format!(
            "Synthetic post {i}. A couple of sentences of ordinary length, so that the store holds what real posts would: {state:x}."
        );
        let mut draft = PostDraft::new(&text).unwrap();
        if i % 3 == 0 {
            draft = draft.title(&format!("Title {i}")).unwrap();
        }
        if i % 5 == 0 {
            draft = draft
                .community(["rust", "music", "news", "books"][i % 4])
                .unwrap();
        }
        let record = draft
            .sign(&keys[i % keys.len()], now - state % YEAR)
            .unwrap();
        counts.push(SwarmCount {
            infohash: record.infohash(),
            source: "http://tracker.test/announce".into(),
            seeders: Some((1u32 << (state % 11)) + (state >> 40) as u32 % 7),
            leechers: Some(0),
            completed: Some(0),
        });
        // Every 10,000th post has a thread of 30 comments, 3 deep.
        if i % 10_000 == 0 {
            let mut parent = record.clone();
            for c in 0..30u64 {
                let comment = CommentDraft::reply_to(
                    &format!("Comment {c} on post {i}: a reply of ordinary length."),
                    &parent,
                )
                .unwrap()
                .sign(
                    &keys[(i + c as usize + 1) % keys.len()],
                    record.created() + c + 1,
                )
                .unwrap();
                if c % 10 != 9 {
                    parent = if c % 3 == 2 {
                        record.clone()
                    } else {
                        comment.clone()
                    };
                }
                batch.push(comment);
            }
        }
        batch.push(record);
        if batch.len() >= 10_000 || i + 1 == n {
            store.put_records(&batch, now).unwrap();
            store
                .put_counts(&counts, now, &FadePolicy::default())
                .unwrap();
            batch.clear();
            counts.clear();
        }
    }
    drop(store);
    std::fs::write(&done, now.to_string()).unwrap();
    eprintln!("built {n} posts in {:.1} s", start.elapsed().as_secs_f64());
    path
}
