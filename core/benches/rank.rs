//! The ranking step of a feed over 1,000,000 posts: top 50 by hot and by
//! top-week. Target: at most 100 ms.

#![allow(missing_docs)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use upseed_core::InfoHash;
use upseed_core::rank::{Signals, Sort, Window, top_n};

const NOW: u64 = 1_763_683_200;

/// A year of synthetic posts with skewed seeder counts, deterministic.
fn posts(n: u32) -> Vec<Signals> {
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    (0..n)
        .map(|i| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let mut hash = [0u8; 20];
            hash[..4].copy_from_slice(&i.to_be_bytes());
            Signals {
                infohash: InfoHash::from_bytes(hash),
                created: NOW - state % 31_557_600,
                seeders: (1u32 << (state % 11)) + (state >> 40) as u32 % 7,
                downloads: (state >> 20) as u32 % 5_000,
                last_comment: state.is_multiple_of(3).then(|| NOW - state % 86_400),
            }
        })
        .collect()
}

fn benches(c: &mut Criterion) {
    let posts = posts(1_000_000);
    let mut group = c.benchmark_group("feed-1M");
    group.sample_size(20);
    group.bench_function("top 50 hot", |b| {
        b.iter(|| top_n(black_box(&posts), Sort::Hot, NOW, 50))
    });
    group.bench_function("top 50 top-week", |b| {
        b.iter(|| top_n(black_box(&posts), Sort::Top(Window::Week), NOW, 50))
    });
    group.finish();
}

criterion_group!(rank, benches);
criterion_main!(rank);
