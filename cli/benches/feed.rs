//! `feed` over a store of 1,000,000 synthetic posts: top 50 by hot and by
//! top-week. Reports the store's size, and times the query (reading the
//! candidate posts' signals from SQLite), the ranking step, and the whole
//! feed (query, ranking, and loading and re-verifying the 50 records).
//! Target for the ranking step: at most 100 ms.
//!
//! The store is built once, into `target/bench-data/`, and reused; set
//! `UPSEED_BENCH_POSTS` for another size.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Instant;

use criterion::{Criterion, criterion_group, criterion_main};
use upseed::render::build_feed;
use upseed_core::rank::{self, Sort, Window, top_n};
use upseed_core::retention::FadePolicy;
use upseed_core::{PostDraft, SecretKey};
use upseed_node::store::{Store, SwarmCount};

const NOW: u64 = 1_763_683_200;
const YEAR: u64 = 31_557_600;

fn count() -> usize {
    std::env::var("UPSEED_BENCH_POSTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000_000)
}

/// Builds (or reuses) a store of `n` signed posts spread over a year, with
/// skewed seeder counts; deterministic.
fn store(n: usize) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/bench-data");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("feed-{n}.db"));
    let done = dir.join(format!("feed-{n}.done"));
    if done.exists() {
        return path;
    }
    for stale in [&path, &dir.join(format!("feed-{n}.db-wal"))] {
        let _ = std::fs::remove_file(stale);
    }
    let start = Instant::now();
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
            .sign(&keys[i % keys.len()], NOW - state % YEAR)
            .unwrap();
        counts.push(SwarmCount {
            infohash: record.infohash(),
            source: "http://tracker.test/announce".into(),
            seeders: Some((1u32 << (state % 11)) + (state >> 40) as u32 % 7),
            leechers: Some(0),
            completed: Some(0),
        });
        batch.push(record);
        if batch.len() == batch.capacity() || i + 1 == n {
            store.put_records(&batch, NOW).unwrap();
            store
                .put_counts(&counts, NOW, &FadePolicy::default())
                .unwrap();
            batch.clear();
            counts.clear();
        }
    }
    drop(store);
    std::fs::write(&done, b"").unwrap();
    eprintln!("built {n} posts in {:.1} s", start.elapsed().as_secs_f64());
    path
}

fn size(path: &std::path::Path) -> u64 {
    ["", "-wal"]
        .iter()
        .filter_map(|suffix| std::fs::metadata(format!("{}{suffix}", path.display())).ok())
        .map(|m| m.len())
        .sum()
}

fn benches(c: &mut Criterion) {
    let n = count();
    let path = store(n);
    let store = Store::open(&path).unwrap();
    eprintln!(
        "store: {n} posts, {:.1} MiB ({} bytes per post)",
        size(&path) as f64 / (1 << 20) as f64,
        size(&path) / n as u64
    );
    let mut group = c.benchmark_group(format!("feed-{n}"));
    group.sample_size(10);
    for (name, sort) in [("hot", Sort::Hot), ("top-week", Sort::Top(Window::Week))] {
        let query = || {
            let nth = store.nth_newest(None, 50).unwrap();
            store
                .signals(None, rank::candidates_since(sort, NOW, nth))
                .unwrap()
        };
        let candidates = query();
        eprintln!("{name}: {} candidate posts read of {n}", candidates.len());
        group.bench_function(format!("{name}: query"), |b| b.iter(query));
        group.bench_function(format!("{name}: ranking step"), |b| {
            b.iter(|| top_n(black_box(&candidates), sort, NOW, 50))
        });
        group.bench_function(format!("{name}: whole feed"), |b| {
            b.iter(|| build_feed(&store, sort, None, 50, NOW).unwrap())
        });
    }
    let all = store.signals(None, None).unwrap();
    group.bench_function("all posts: query", |b| {
        b.iter(|| store.signals(None, None).unwrap())
    });
    group.bench_function("hot over all posts: ranking step", |b| {
        b.iter(|| top_n(black_box(&all), Sort::Hot, NOW, 50))
    });
    group.finish();
}

criterion_group!(feed, benches);
criterion_main!(feed);
