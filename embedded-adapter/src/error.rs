//! Why the embedded engine could not start, in words that say the fix.

use std::path::PathBuf;

/// The engine could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    /// The engine's folder cannot be created or written.
    #[error(
        "cannot use {path} for the embedded engine's state ({reason}); make the data folder writable by this user, or point UPSEED_HOME at one that is"
    )]
    StateDir {
        /// The folder.
        path: PathBuf,
        /// What the system said.
        reason: String,
    },
    /// Another process holds the engine of this data folder.
    #[error(
        "another upseed process already holds the embedded engine of {path}; stop it first, or let this command hand its work to it"
    )]
    Held {
        /// The engine's folder.
        path: PathBuf,
    },
    /// The listen port is taken.
    #[error(
        "cannot listen for peers on port {port}: it is already in use by another program; set [engine] port to a free one (0 picks any)"
    )]
    PortInUse {
        /// The port.
        port: u16,
    },
    /// librqbit refused to start.
    #[error("the embedded engine did not start: {reason}; check [engine] and [dht] in the config")]
    Start {
        /// librqbit's words.
        reason: String,
    },
    /// The local socket that one-shot commands reach the engine by.
    #[error(
        "cannot open the engine's local socket {path} ({reason}); check that the data folder is writable and on a local disk"
    )]
    Socket {
        /// The socket.
        path: PathBuf,
        /// What the system said.
        reason: String,
    },
}
