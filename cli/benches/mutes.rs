//! What mutes cost a feed, over the synthetic store of 1,000,000 posts:
//! the top 50 by hot and by top-week with no mutes, with 10,000 muted
//! words and 10,000 muted keys that match nothing, and with those plus 100
//! of the store's 1,000 authors (a tenth of the posts hidden, so the feed
//! ranks further to fill the page). Also times loading those 20,000
//! entries from a store, which a one-shot command does once and a
//! long-lived one only when they change. Target: a feed at most 10 %
//! slower with the mutes than without.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use criterion::{Criterion, criterion_group, criterion_main};
use upseed_core::SecretKey;
use upseed_core::mute::{MuteTarget, Mutes};
use upseed_core::rank::{Sort, Window};
use upseed_node::feed::{View, build_feed_in};
use upseed_node::store::Store;

mod synthetic;
use synthetic::{count, store};

/// 10,000 words and 10,000 keys that no synthetic post matches.
fn unrelated() -> Vec<(MuteTarget, Option<u64>)> {
    let mut out = Vec::with_capacity(20_000);
    for i in 0..10_000u32 {
        out.push((MuteTarget::word(&format!("muted{i}word")).unwrap(), None));
        let mut seed = [9u8; 32];
        seed[..4].copy_from_slice(&i.to_be_bytes());
        out.push((
            MuteTarget::Author(SecretKey::from_seed(&seed).public_key()),
            None,
        ));
    }
    out
}

/// 100 of the synthetic store's 1,000 authors.
fn authors() -> Vec<(MuteTarget, Option<u64>)> {
    (0..100u16)
        .map(|i| {
            let mut seed = [7u8; 32];
            seed[..2].copy_from_slice(&(i * 10).to_be_bytes());
            (
                MuteTarget::Author(SecretKey::from_seed(&seed).public_key()),
                None,
            )
        })
        .collect()
}

fn benches(c: &mut Criterion) {
    let n = count();
    let path = store(n);
    let now = synthetic::now(n);
    let store = Store::open(&path).unwrap();
    let none = Mutes::default();
    let unrelated_set = Mutes::new(unrelated());
    let hiding = Mutes::new(unrelated().into_iter().chain(authors()));
    let mut group = c.benchmark_group(format!("mutes-{n}"));
    group.sample_size(20);
    for (name, sort) in [("hot", Sort::Hot), ("top-week", Sort::Top(Window::Week))] {
        for (label, mutes) in [
            ("no mutes", &none),
            ("20,000 mutes", &unrelated_set),
            ("20,000 mutes + 100 authors", &hiding),
        ] {
            let view = View {
                mutes,
                show_muted: false,
            };
            let feed = build_feed_in(
                &store,
                (sort, upseed_core::rank::Basis::Seeders),
                None,
                50,
                now,
                view,
            )
            .unwrap();
            eprintln!(
                "{name}, {label}: {} shown, {} hidden",
                feed.items.len(),
                feed.hidden
            );
            group.bench_function(format!("{name}: {label}"), |b| {
                b.iter(|| {
                    build_feed_in(
                        &store,
                        (sort, upseed_core::rank::Basis::Seeders),
                        None,
                        50,
                        now,
                        view,
                    )
                    .unwrap()
                })
            });
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let mut listed = Store::open(&dir.path().join("store.db")).unwrap();
    listed.mute_all(&unrelated(), now).unwrap();
    group.bench_function("load 20,000 mutes from a store", |b| {
        b.iter(|| listed.mute_set(now, None).unwrap())
    });
    group.finish();
}

criterion_group!(mutes, benches);
criterion_main!(mutes);
