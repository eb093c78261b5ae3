//! The config file, its environment overrides, and where upseed keeps its
//! files.
//!
//! `--config FILE` or `$UPSEED_HOME` selects everything: the config file
//! (`config.toml`), the identity (`identity.key`) and the store (`store.db`)
//! sit in one folder, so several users can run side by side. Otherwise that
//! folder is `$XDG_CONFIG_HOME/upseed`, or `~/.config/upseed`.
//!
//! Every setting can be overridden by an environment variable named
//! `UPSEED_<SECTION>_<KEY>`, such as `UPSEED_CLIENT_URL`. The client
//! password comes only from `UPSEED_CLIENT_PASSWORD` or from a password
//! file that only its owner can read: never from a flag or the config.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use upseed_core::{ClientKind, Password};

/// The files of one upseed user.
#[derive(Debug, Clone)]
pub struct Home {
    /// The config file.
    pub config: PathBuf,
    /// The secret key.
    pub identity: PathBuf,
    /// The store.
    pub store: PathBuf,
}

impl Home {
    /// From `--config FILE`, else `$UPSEED_HOME`, else the XDG config folder.
    pub fn locate(config: Option<&Path>) -> Result<Self> {
        let (dir, file) = match config {
            Some(file) => {
                let dir = file
                    .parent()
                    .filter(|d| !d.as_os_str().is_empty())
                    .unwrap_or(Path::new("."));
                (dir.to_owned(), file.to_owned())
            }
            None => {
                let dir = if let Some(home) = std::env::var_os("UPSEED_HOME") {
                    PathBuf::from(home)
                } else if let Some(xdg) = std::env::var_os("XDG_CONFIG_HOME") {
                    PathBuf::from(xdg).join("upseed")
                } else {
                    let home = std::env::var_os("HOME")
                        .context("set UPSEED_HOME or HOME so upseed knows where its files go")?;
                    PathBuf::from(home).join(".config/upseed")
                };
                (dir.clone(), dir.join("config.toml"))
            }
        };
        Ok(Self {
            config: file,
            identity: dir.join("identity.key"),
            store: dir.join("store.db"),
        })
    }
}

/// `[client]`: which client, where, and as whom.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientSection {
    /// `qbittorrent` or `transmission`.
    pub kind: ClientKind,
    /// The Web UI URL, or Transmission's RPC URL.
    pub url: url::Url,
    /// The user name, if the client asks for one.
    pub username: Option<String>,
    /// A file holding the password (mode 0600).
    pub password_file: Option<PathBuf>,
    /// qBittorrent category or Transmission label for upseed's torrents.
    #[serde(default = "default_category")]
    pub category: String,
}

fn default_category() -> String {
    "upseed".to_owned()
}

/// `[posts]`: where bodies are written and downloads land, as upseed sees them.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostsSection {
    /// Where upseed writes the bodies of our posts and comments.
    pub dir: PathBuf,
    /// Where the client saves what we read and upvote.
    pub downloads: PathBuf,
}

/// `[paths]`: the client sees our folders under another prefix.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PathsSection {
    /// The prefix as upseed sees it.
    pub local: Option<PathBuf>,
    /// The same prefix as the client sees it.
    pub remote: Option<String>,
}

/// `[trackers]`: announce URLs put in every torrent and magnet.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrackersSection {
    /// Announce URLs, in order of preference.
    #[serde(default)]
    pub urls: Vec<String>,
}

/// The whole config.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The client.
    pub client: ClientSection,
    /// Folders.
    pub posts: PostsSection,
    /// Path mapping.
    #[serde(default)]
    pub paths: PathsSection,
    /// Trackers.
    #[serde(default)]
    pub trackers: TrackersSection,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

impl Config {
    /// Reads the file at `path`, then applies environment overrides.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).with_context(|| {
            format!(
                "cannot read the config {}; create it with `upseed init`",
                path.display()
            )
        })?;
        let mut config: Self = toml::from_str(&text).with_context(|| {
            format!(
                "the config {} is not valid; fix it or run `upseed init --force`",
                path.display()
            )
        })?;
        config.apply_env()?;
        Ok(config)
    }

    fn apply_env(&mut self) -> Result<()> {
        if let Some(kind) = env("UPSEED_CLIENT_KIND") {
            self.client.kind = parse_kind(&kind)?;
        }
        if let Some(url) = env("UPSEED_CLIENT_URL") {
            self.client.url = url
                .parse()
                .with_context(|| format!("UPSEED_CLIENT_URL `{url}` is not a URL"))?;
        }
        if let Some(user) = env("UPSEED_CLIENT_USERNAME") {
            self.client.username = Some(user);
        }
        if let Some(file) = env("UPSEED_CLIENT_PASSWORD_FILE") {
            self.client.password_file = Some(file.into());
        }
        if let Some(category) = env("UPSEED_CLIENT_CATEGORY") {
            self.client.category = category;
        }
        if let Some(dir) = env("UPSEED_POSTS_DIR") {
            self.posts.dir = dir.into();
        }
        if let Some(dir) = env("UPSEED_POSTS_DOWNLOADS") {
            self.posts.downloads = dir.into();
        }
        if let Some(local) = env("UPSEED_PATHS_LOCAL") {
            self.paths.local = Some(local.into());
        }
        if let Some(remote) = env("UPSEED_PATHS_REMOTE") {
            self.paths.remote = Some(remote);
        }
        if let Some(urls) = env("UPSEED_TRACKERS_URLS") {
            self.trackers.urls = urls
                .split(',')
                .map(|u| u.trim().to_owned())
                .filter(|u| !u.is_empty())
                .collect();
        }
        Ok(())
    }

    /// The client password: `UPSEED_CLIENT_PASSWORD`, else the password file.
    pub fn password(&self) -> Result<Option<Password>> {
        if let Some(password) = env("UPSEED_CLIENT_PASSWORD") {
            return Ok(Some(Password::new(password)));
        }
        let Some(file) = &self.client.password_file else {
            return Ok(None);
        };
        let mode = std::fs::metadata(file)
            .with_context(|| format!("cannot read the password file {}", file.display()))?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            bail!(
                "the password file {} has mode {:04o}, which lets other users read it; run `chmod 600 {}`",
                file.display(),
                mode & 0o7777,
                file.display()
            );
        }
        let text = zeroize::Zeroizing::new(
            std::fs::read_to_string(file)
                .with_context(|| format!("cannot read the password file {}", file.display()))?,
        );
        Ok(Some(Password::new(text.trim_end_matches(['\n', '\r']))))
    }

    /// A path as the client sees it, through the `[paths]` mapping.
    pub fn client_path(&self, local: &Path) -> String {
        if let (Some(prefix), Some(remote)) = (&self.paths.local, &self.paths.remote)
            && let Ok(rest) = local.strip_prefix(prefix)
        {
            let remote = remote.trim_end_matches('/');
            return if rest.as_os_str().is_empty() {
                remote.to_owned()
            } else {
                format!("{remote}/{}", rest.display())
            };
        }
        local.display().to_string()
    }
}

impl Config {
    /// A path the client reported, as upseed sees it: the `[paths]`
    /// mapping read backwards.
    pub fn local_path(&self, remote_path: &str) -> PathBuf {
        if let (Some(local), Some(remote)) = (&self.paths.local, &self.paths.remote) {
            let remote = remote.trim_end_matches('/');
            if let Some(rest) = remote_path.strip_prefix(remote)
                && (rest.is_empty() || rest.starts_with('/'))
            {
                return local.join(rest.trim_start_matches('/'));
            }
        }
        PathBuf::from(remote_path)
    }
}

/// `qbittorrent` or `transmission`.
pub fn parse_kind(text: &str) -> Result<ClientKind> {
    match text.trim().to_ascii_lowercase().as_str() {
        "qbittorrent" | "qbt" => Ok(ClientKind::Qbittorrent),
        "transmission" => Ok(ClientKind::Transmission),
        other => {
            bail!("`{other}` is not a client upseed drives; use `qbittorrent` or `transmission`")
        }
    }
}

/// The commented config file `upseed init` writes.
pub fn template(config: &Config) -> String {
    let kind = match config.client.kind {
        ClientKind::Qbittorrent => "qbittorrent",
        ClientKind::Transmission => "transmission",
    };
    let username = config.client.username.as_ref().map_or_else(
        || "# username = \"admin\"".to_owned(),
        |u| format!("username = {}", toml_string(u)),
    );
    let password_file = config.client.password_file.as_ref().map_or_else(
        || "# password_file = \"/home/me/.config/upseed/client-password\"".to_owned(),
        |p| format!("password_file = {}", toml_string(&p.display().to_string())),
    );
    let (local, remote) = match (&config.paths.local, &config.paths.remote) {
        (Some(l), Some(r)) => (
            format!("local = {}", toml_string(&l.display().to_string())),
            format!("remote = {}", toml_string(r)),
        ),
        _ => (
            "# local = \"/mnt/seedbox/upseed\"".to_owned(),
            "# remote = \"/data/upseed\"".to_owned(),
        ),
    };
    let trackers: Vec<String> = config
        .trackers
        .urls
        .iter()
        .map(|u| toml_string(u))
        .collect();
    format!(
        r#"# upseed configuration.
# Any setting can be overridden by an environment variable UPSEED_<SECTION>_<KEY>,
# for example UPSEED_CLIENT_URL.

[client]
# The BitTorrent client upseed drives: "qbittorrent" or "transmission".
kind = "{kind}"
# qBittorrent: the Web UI address. Transmission: the RPC URL, ending in /transmission/rpc.
url = {url}
{username}
# The password is never stored here. upseed reads it from the environment
# variable UPSEED_CLIENT_PASSWORD, or from a file only you can read (chmod 600):
{password_file}
# The qBittorrent category, or Transmission label, that marks upseed's torrents.
# upseed never lists or changes torrents without it.
category = {category}

[posts]
# Where upseed writes the text of your posts and comments, for your client to seed.
dir = {dir}
# Where your client saves the posts and comments you read and upvote.
downloads = {downloads}

[paths]
# When your client sees these folders under another path (a seedbox, a container),
# map the prefix as upseed sees it to the prefix as the client sees it.
{local}
{remote}

[trackers]
# Announce URLs put in every post, comment and magnet link.
urls = [{trackers}]
"#,
        url = toml_string(config.client.url.as_str()),
        category = toml_string(&config.client.category),
        dir = toml_string(&config.posts.dir.display().to_string()),
        downloads = toml_string(&config.posts.downloads.display().to_string()),
        trackers = trackers.join(", "),
    )
}

/// A TOML basic string.
fn toml_string(text: &str) -> String {
    toml::Value::String(text.to_owned()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Config {
        Config {
            client: ClientSection {
                kind: ClientKind::Transmission,
                url: "http://127.0.0.1:9091/transmission/rpc".parse().unwrap(),
                username: Some("me \"quoted\"".into()),
                password_file: None,
                category: "upseed".into(),
            },
            posts: PostsSection {
                dir: "/srv/upseed/posts".into(),
                downloads: "/srv/upseed/downloads".into(),
            },
            paths: PathsSection {
                local: Some("/srv/upseed".into()),
                remote: Some("/data/upseed/".into()),
            },
            trackers: TrackersSection {
                urls: vec!["http://127.0.0.1:6969/announce".into()],
            },
        }
    }

    #[test]
    fn the_template_parses_back_to_the_same_config() {
        let config = sample();
        let text = template(&config);
        let back: Config = toml::from_str(&text).unwrap();
        assert_eq!(back, config);
        insta::assert_snapshot!("config-template", text);
    }

    #[test]
    fn paths_map_by_prefix() {
        let config = sample();
        assert_eq!(
            config.client_path(Path::new("/srv/upseed/posts")),
            "/data/upseed/posts"
        );
        assert_eq!(config.client_path(Path::new("/srv/upseed")), "/data/upseed");
        assert_eq!(
            config.client_path(Path::new("/elsewhere/x")),
            "/elsewhere/x"
        );
        assert_eq!(
            config.local_path("/data/upseed/downloads/a.txt"),
            Path::new("/srv/upseed/downloads/a.txt")
        );
        assert_eq!(config.local_path("/data/upseed"), Path::new("/srv/upseed"));
        assert_eq!(
            config.local_path("/data/upseedling/x"),
            Path::new("/data/upseedling/x"),
            "only whole path components map"
        );
    }

    #[test]
    fn a_readable_password_file_is_refused_with_the_fix() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pw");
        std::fs::write(&file, "secret\n").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        let mut config = sample();
        config.client.password_file = Some(file.clone());
        // The environment variable would take precedence; these tests do not set it.
        if std::env::var_os("UPSEED_CLIENT_PASSWORD").is_none() {
            let error = config.password().unwrap_err().to_string();
            assert!(error.contains("chmod 600"), "{error}");
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
            assert_eq!(config.password().unwrap().unwrap().expose(), "secret");
        }
    }

    #[test]
    fn unknown_keys_and_clients_are_refused() {
        let text = template(&sample()).replace("[trackers]", "[trackers]\ncolour = \"blue\"");
        assert!(toml::from_str::<Config>(&text).is_err());
        assert!(
            parse_kind("deluge")
                .unwrap_err()
                .to_string()
                .contains("qbittorrent")
        );
    }
}
