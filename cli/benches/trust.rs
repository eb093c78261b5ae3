//! What computing the web of trust costs: 1,000 followed keys, each
//! following 200 keys drawn from 100,000 (so about 100,000 second-hop
//! candidates, of which those followed by 2 or more are trusted, capped
//! at 10,000). Reports the time of one computation, as each sync and
//! each follow runs it, the size of the inputs it reads, and how far one
//! computation raises the process's peak resident memory (Linux).

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;

use criterion::{Criterion, criterion_group, criterion_main};
use upseed_core::PublicKey;
use upseed_core::SecretKey;
use upseed_core::trust::{TrustRule, web_of_trust};

/// A field of `/proc/self/status` in KiB (`VmRSS`, `VmHWM`), if readable.
fn status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn key(n: u32) -> PublicKey {
    let mut seed = [7u8; 32];
    seed[..4].copy_from_slice(&n.to_be_bytes());
    SecretKey::from_seed(&seed).public_key()
}

fn bench(c: &mut Criterion) {
    let pool: Vec<PublicKey> = (0..100_000).map(|n| key(n + 10_000)).collect();
    let follows: Vec<PublicKey> = (0..1_000).map(key).collect();
    // A fixed pseudo-random spread: each follow follows 200 of the pool.
    let mut state = 0x9e37_79b9_u64;
    let mut lists = HashMap::new();
    for follow in &follows {
        let list: Vec<PublicKey> = (0..200)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                pool[(state % pool.len() as u64) as usize]
            })
            .collect();
        lists.insert(*follow, list);
    }
    let me = Some(key(u32::MAX));
    // Writing 5 to clear_refs resets the peak to the current resident set.
    let reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();
    let before = status_kib("VmRSS:");
    let web = web_of_trust(me, &follows, &lists, |_| false, TrustRule::default());
    let peak = status_kib("VmHWM:");
    eprintln!(
        "trust: {} follows, {} second-hop keys trusted, {} list entries read",
        follows.len(),
        web.len() - follows.len() - 1,
        lists.values().map(Vec::len).sum::<usize>()
    );
    if let (true, Some(before), Some(peak)) = (reset, before, peak) {
        eprintln!(
            "trust: resident {:.1} MiB with the inputs; one computation peaks {:.1} MiB above that",
            before as f64 / 1024.0,
            peak.saturating_sub(before) as f64 / 1024.0
        );
    }
    c.bench_function("web of trust, 1,000 follows x 200 keys of 100,000", |b| {
        b.iter(|| web_of_trust(me, &follows, &lists, |_| false, TrustRule::default()))
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = bench
}
criterion_main!(benches);
