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

use criterion::{Criterion, criterion_group, criterion_main};
use upseed::render::build_feed;
use upseed_core::rank::{self, Sort, Window, top_n};
use upseed_node::store::Store;

mod synthetic;
use synthetic::{count, store};

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
    let now = synthetic::now(n);
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
                .signals(None, rank::candidates_since(sort, now, nth))
                .unwrap()
        };
        let candidates = query();
        eprintln!("{name}: {} candidate posts read of {n}", candidates.len());
        group.bench_function(format!("{name}: query"), |b| b.iter(query));
        group.bench_function(format!("{name}: ranking step"), |b| {
            b.iter(|| top_n(black_box(&candidates), sort, now, 50))
        });
        group.bench_function(format!("{name}: whole feed"), |b| {
            b.iter(|| build_feed(&store, sort, None, 50, now).unwrap())
        });
    }
    let all = store.signals(None, None).unwrap();
    group.bench_function("all posts: query", |b| {
        b.iter(|| store.signals(None, None).unwrap())
    });
    group.bench_function("hot over all posts: ranking step", |b| {
        b.iter(|| top_n(black_box(&all), Sort::Hot, now, 50))
    });
    group.finish();
}

criterion_group!(feed, benches);
criterion_main!(feed);
