//! The client's completion hook: the script that has qBittorrent or
//! Transmission run `upseed ingest` when a torrent finishes, where it
//! lives, and whether the client runs it.

use std::path::{Path, PathBuf};

use upseed_core::TorrentClient;

use crate::config::{Config, Home};

/// The file name of the hook script, in the config's folder.
pub const HOOK_FILE: &str = "ingest-hook";

/// Whether the client runs the hook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HookState {
    /// It runs this user's hook.
    Ours(String),
    /// It runs another program.
    Other(String),
    /// It runs none.
    Unset,
}

/// Quotes `text` for `sh` between single quotes.
fn sh_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// The hook script: runs `program` on the config at `config`.
pub fn hook_script(program: &Path, config: &Path) -> String {
    format!(
        "#!/bin/sh\n\
         # Written by `upseed ingest --install`. qBittorrent runs it with a\n\
         # finished torrent's infohash; Transmission sets TR_TORRENT_HASH.\n\
         exec {} --config {} --quiet ingest \"$@\"\n",
        sh_quote(&program.display().to_string()),
        sh_quote(&config.display().to_string()),
    )
}

/// Where the hook script of the user at `home` goes: beside the config.
pub fn hook_path(home: &Home) -> PathBuf {
    home.config
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .join(HOOK_FILE)
}

/// Whether `client` runs the hook of the user at `home`, another program or none.
pub async fn hook_state<C: TorrentClient>(
    home: &Home,
    config: &Config,
    client: &C,
) -> Result<HookState, upseed_core::ClientError> {
    let ours = config.client_path(&hook_path(home));
    Ok(match client.completion_hook().await? {
        Some(program) if program.contains(&ours) => HookState::Ours(program),
        Some(program) => HookState::Other(program),
        None => HookState::Unset,
    })
}
