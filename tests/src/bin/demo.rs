//! The demo behind `scripts/demo`: the end-to-end story on daemons of this
//! machine. alice (qBittorrent) posts; bob (Transmission) shows it,
//! upvotes it and comments; alice's thread shows the comment and two
//! seeders; bob's top feed of the day ranks the post above carol's; bob
//! unvotes. Every command and its output is printed.
//!
//! It runs in a private network namespace (`unshare -n`, which needs
//! root), because Transmission never dials peers on 127.0.0.0/8.
//! Usage: demo PATH-TO-UPSEED-BINARY

use std::path::Path;
use std::process::ExitCode;

use upseed_tests::{netns, story};

fn main() -> ExitCode {
    let Some(upseed) = std::env::args().nth(1) else {
        eprintln!("usage: demo PATH-TO-UPSEED");
        return ExitCode::from(2);
    };
    if !netns::inside() {
        return match netns::reexec_program() {
            Ok(0) => ExitCode::SUCCESS,
            Ok(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
            Err(error) => {
                eprintln!(
                    "error: the demo needs a private network namespace: {error}; run it as root"
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
    runtime.block_on(story::run(Path::new(&upseed), true));
    println!("\nthe daemons stop now; their temporary profiles are removed");
    ExitCode::SUCCESS
}
