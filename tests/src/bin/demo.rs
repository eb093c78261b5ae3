//! The demo behind `scripts/demo`: the end-to-end story, every command and
//! its output printed. alice posts; bob shows it, upvotes it and comments;
//! alice's thread shows the comment and two seeders; bob's top feed of the
//! day ranks the post above carol's; bob unvotes.
//!
//! By default every user runs upseed's embedded engine, held by their own
//! `upseed daemon`: no BitTorrent client, no root, no namespace; only
//! opentracker, which counts the seeders. With `--clients`, alice and
//! carol run qBittorrent and bob Transmission, in a private network
//! namespace (`unshare -n`, which needs root), because Transmission never
//! dials peers on 127.0.0.0/8.
//!
//! Usage: demo PATH-TO-UPSEED-BINARY [--clients]

use std::path::Path;
use std::process::ExitCode;

use upseed_tests::{netns, story};

fn main() -> ExitCode {
    let Some(upseed) = std::env::args().nth(1) else {
        eprintln!("usage: demo PATH-TO-UPSEED [--clients]");
        return ExitCode::from(2);
    };
    let clients = std::env::args().skip(2).any(|a| a == "--clients");
    if clients && !netns::inside() {
        return match netns::reexec_program() {
            Ok(0) => ExitCode::SUCCESS,
            Ok(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
            Err(error) => {
                eprintln!(
                    "error: the demo with real clients needs a private network namespace: {error}; run it as root"
                );
                ExitCode::FAILURE
            }
        };
    }
    let Ok(runtime) = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    else {
        eprintln!("error: cannot start the async runtime");
        return ExitCode::FAILURE;
    };
    if clients {
        runtime.block_on(story::run(Path::new(&upseed), true));
        println!("\nthe daemons stop now; their temporary profiles are removed");
    } else {
        runtime.block_on(story::run_embedded(Path::new(&upseed), true));
        println!("\neach user's `upseed daemon` stops now; their temporary homes are removed");
    }
    ExitCode::SUCCESS
}
