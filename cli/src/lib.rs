//! The `upseed` command line as a library: the binary is a thin shell
//! over this crate, which is a front end over `upseed-node`. It parses
//! the arguments, chooses the client, renders results and maps errors to
//! exit codes; every use case lives in the node layer.
//!
//! [`run_in`] runs a command in-process in an [`Env`] of the caller's,
//! capturing its output and exit code: the test environment of every
//! command.

mod app;
mod args;
pub mod client;
mod config;
mod daemon;
mod engine;
mod env;
mod init;
pub mod json;
pub mod progress;
pub mod render;
pub mod serve;

pub use app::{main, run_in};
pub use env::{Env, Stream};
