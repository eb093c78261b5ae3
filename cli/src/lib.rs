//! The `upseed` command line as a library: the binary is a thin shell over
//! this crate, `upseed-core` and the client adapters.

mod app;
pub mod client;
pub mod config;
pub mod daemon;
pub mod dht;
pub mod discover;
pub mod doctor;
pub mod fetch;
pub mod gc;
pub mod keyfile;
pub mod progress;
pub mod render;
pub mod scrape;
pub mod status;
pub mod store;
pub mod sync;
pub mod vote;

pub use app::main;
