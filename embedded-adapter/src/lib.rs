//! The embedded engine: upseed's own BitTorrent client, on librqbit, for
//! users who run none.
//!
//! [`Embedded`] implements [`TorrentClient`](upseed_core::TorrentClient)
//! in process, like the qBittorrent and Transmission adapters do over
//! HTTP, and like them knows torrents, not posts. A torrent seeds only
//! while a process holds the engine, so one process per data folder does
//! ([`Embedded::start`] takes a lock), and serves the others over a local
//! socket ([`serve`]); they reach it through [`Remote`], which is a
//! `TorrentClient` too.
//!
//! Its state lives in one folder: a file per torrent it seeds, their
//! tags, the lock and the socket. Peers come from
//! the torrents' trackers and from the engine's own mainline DHT node.

mod config;
mod engine;
mod error;
mod peer_dht;
mod remote;
mod seeded;
mod tags;
mod tracker;
mod wire;

pub use config::{DhtConfig, EngineConfig, Gate, socket_in};
pub use engine::Embedded;
pub use error::EngineError;
pub use remote::{Remote, Serving, serve};
