//! The upseed application layer: every use case of upseed (publishing,
//! reading, voting, sync and discovery, the seeding rules, gc, doctor,
//! status and the daemon loop) behind one facade, [`Node`], over any
//! [`TorrentClient`](upseed_core::TorrentClient).
//!
//! A front end (the `upseed` command line, a web page) locates the user's
//! files ([`Home`]), chooses and builds the client, opens a [`Node`], and
//! calls its methods. Progress and notices come back as [`Event`]s through
//! the callback the front end registers; results come back as typed
//! values with JSON forms; failures as [`Error`], whose messages say the
//! fix. Nothing here knows a terminal, an argument parser or exit codes.
//!
//! ```no_run
//! # async fn demo() -> Result<(), upseed_node::Error> {
//! use upseed_node::fake::FakeClient;
//! use upseed_node::{Home, Node, Vars};
//!
//! let home = Home::in_dir("/tmp/alice".as_ref());
//! let node = Node::new(home, Vars::default(), |_config, _vars| Ok(FakeClient::new()));
//! let feed = node.feed(&upseed_node::FeedQuery::default()).await?;
//! println!("{} posts", feed.items.len());
//! # Ok(()) }
//! ```

mod api;
pub mod config;
pub mod credentials;
pub mod daemon;
pub mod dht;
pub mod discover;
pub mod doctor;
pub mod edit;
mod error;
mod events;
pub mod fake;
pub mod feed;
pub mod fetch;
pub mod files;
pub mod gc;
pub mod hook;
pub mod ingest;
pub mod keyfile;
pub mod mute;
pub mod mute_list;
pub mod peers;
pub mod probe;
mod publish;
mod read;
pub mod scrape;
pub mod search;
pub mod settings;
pub mod share;
pub mod status;
pub mod store;
pub mod sync;
pub mod trust;
pub mod verify;
pub mod vote;

pub use api::Node;
pub use config::{Config, ConfigError, Home, PasswordError, Vars};
pub use edit::SupersedeReport;
pub use error::{Error, error_chain};
pub use events::{Event, Events, Task, TaskHandle, Warning};
pub use feed::{EditJson, FeedItem, FeedJson, ThreadComment, ThreadJson, ThreadSort, View};
pub use files::{write_body, write_file};
pub use mute::{MuteReport, MutesJson, UnmuteReport};
pub use mute_list::ListsRead;
pub use publish::{PostInput, Posted};
pub use read::{Exported, FeedQuery};
pub use search::{SearchHit, SearchJson};
pub use share::{MuteListReport, SubscribeReport, UnsubscribeReport};
pub use store::SearchOrder;
pub use vote::Upvoted;

/// Milliseconds since the Unix epoch, by the system clock.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Seconds since the Unix epoch, by the system clock.
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
