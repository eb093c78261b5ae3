//! What the board proof of work costs an honest poster: the time to solve
//! an entry at several difficulties, over many infohashes (a solve's time
//! varies widely: it is a geometric draw of mean 2^difficulty hashes),
//! beside the hash rate that predicts it. Target: at most 1 s at the
//! default difficulty on one core.

#![allow(missing_docs, clippy::unwrap_used, clippy::print_stdout)]

use std::time::Instant;

use upseed_core::InfoHash;
use upseed_core::pow::{BOARD_DIFFICULTY, solve, work};

fn main() {
    // The hash rate: work() over a million nonces.
    let hash = InfoHash::of_info(b"rate");
    let started = Instant::now();
    let mut best = 0;
    for nonce in 0..1_000_000u64 {
        best = best.max(work(hash, nonce));
    }
    let rate = 1e6 / started.elapsed().as_secs_f64();
    println!(
        "pow: {:.1} M hashes/s on one core (best of 1M: {best} bits)",
        rate / 1e6
    );
    for (difficulty, samples) in [(12, 64), (16, 64), (18, 32), (20, 24), (22, 8), (24, 4)] {
        let mut times = Vec::with_capacity(samples);
        for i in 0..samples {
            let hash = InfoHash::of_info(format!("post {difficulty} {i}").as_bytes());
            let started = Instant::now();
            let nonce = solve(hash, difficulty);
            times.push(started.elapsed().as_secs_f64());
            assert!(work(hash, nonce) >= difficulty);
        }
        times.sort_by(f64::total_cmp);
        let mean = times.iter().sum::<f64>() / times.len() as f64;
        let median = times[times.len() / 2];
        let max = times[times.len() - 1];
        let marker = if difficulty == BOARD_DIFFICULTY {
            " (default)"
        } else {
            ""
        };
        println!(
            "pow: difficulty {difficulty}{marker}: mean {:.3} s, median {:.3} s, max {:.3} s over {samples} posts; expected mean {:.3} s",
            mean,
            median,
            max,
            f64::from(1u32 << difficulty) / rate
        );
    }
}
