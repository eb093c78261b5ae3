//! Build+sign and parse+verify of a 280-byte post, beside bare ed25519-dalek
//! sign and verify of the very message the post signs.
//!
//! Targets: build+sign at ≥ 90 % of bare sign throughput, parse+verify at
//! ≥ 80 % of bare `verify_strict` (the check records use).

#![allow(missing_docs, clippy::unwrap_used)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use ed25519_dalek::{Signature, Signer, SigningKey};
use upseed_core::{PostDraft, SecretKey, Torrent};

const SEED: [u8; 32] = [0xa1; 32];
const CREATED: u64 = 1_763_683_200;
const TRACKERS: [&str; 1] = ["http://127.0.0.1:6969/announce"];

fn body() -> String {
    let text =
        "A post of exactly two hundred and eighty bytes, the length of a long tweet. ".repeat(4);
    text[..280].to_owned()
}

fn benches(c: &mut Criterion) {
    let text = body();
    assert_eq!(text.len(), 280);
    let key = SecretKey::from_seed(&SEED);
    let record = PostDraft::new(&text).unwrap().sign(&key, CREATED).unwrap();
    let torrent = record.torrent_bytes(&TRACKERS);
    let message = record.signed_message();
    let dalek = SigningKey::from_bytes(&SEED);
    let public = dalek.verifying_key();
    let signature = Signature::from_bytes(record.signature());

    let mut group = c.benchmark_group("post-280");
    group.bench_function("bare ed25519 sign", |b| {
        b.iter(|| dalek.sign(black_box(&message)))
    });
    group.bench_function("build+sign", |b| {
        b.iter(|| {
            let record = PostDraft::new(black_box(&text))
                .unwrap()
                .sign(&key, CREATED)
                .unwrap();
            record.torrent_bytes(&TRACKERS)
        })
    });
    group.bench_function("bare ed25519 verify_strict", |b| {
        b.iter(|| {
            public
                .verify_strict(black_box(&message), &signature)
                .unwrap()
        })
    });
    group.bench_function("bare ed25519 verify", |b| {
        b.iter(|| {
            ed25519_dalek::Verifier::verify(&public, black_box(&message), &signature).unwrap()
        })
    });
    group.bench_function("parse+verify", |b| {
        b.iter(|| {
            Torrent::parse(black_box(&torrent), CREATED)
                .unwrap()
                .record
                .with_body(text.as_bytes())
                .unwrap()
        })
    });
    group.finish();
}

criterion_group!(record, benches);
criterion_main!(record);
