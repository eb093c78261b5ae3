//! The config file, its environment overrides, and where upseed keeps its
//! files.
//!
//! `--config FILE` or `$UPSEED_HOME` selects everything: the config file
//! (`config.toml`), the identity (`identity.key`) and the store (`store.db`)
//! sit in one folder, so several users can run side by side. Otherwise the
//! config and identity are in `$XDG_CONFIG_HOME/upseed` (`~/.config/upseed`)
//! and the store, posts and downloads in `$XDG_DATA_HOME/upseed`
//! (`~/.local/share/upseed`); see [`Home::locate`].
//!
//! Every setting can be overridden by an environment variable named
//! `UPSEED_<SECTION>_<KEY>`, such as `UPSEED_CLIENT_URL`. The client
//! password comes only from `UPSEED_CLIENT_PASSWORD` or from a password
//! file that only its owner can read: never from a flag or the config.

use std::fmt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use upseed_core::retention::{FadePolicy, SeedPolicy};
use upseed_core::trust::TrustRule;
use upseed_core::{ClientKind, Password};

use crate::settings::{self, Source};
pub use crate::settings::{EnvError, Vars};

/// One setting as `upseed config show` prints it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, schemars::JsonSchema)]
pub struct Shown {
    /// `section.key`.
    pub key: String,
    /// The environment variable that overrides it.
    pub env: String,
    /// The effective value; none when unset.
    #[schemars(with = "Option<serde_json::Value>")]
    pub value: Option<toml::Value>,
    /// Where the value came from.
    pub source: Source,
}

/// Where the client password comes from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
#[serde(tag = "from", content = "path", rename_all = "snake_case")]
pub enum PasswordSource {
    /// Nowhere: none is set.
    None,
    /// `UPSEED_CLIENT_PASSWORD`.
    Env,
    /// The password file at this path.
    File(PathBuf),
}

impl fmt::Display for PasswordSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::None => f.write_str(
                "no password (neither UPSEED_CLIENT_PASSWORD nor [client] password_file is set)",
            ),
            Self::Env => f.write_str("the password from UPSEED_CLIENT_PASSWORD"),
            Self::File(path) => write!(f, "the password in {}", path.display()),
        }
    }
}

/// The config is missing or wrong.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file cannot be read.
    #[error("cannot read the config {}; create it with `upseed init`", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Neither a config nor a store: upseed was never set up here.
    #[error("upseed is not set up here yet ({} does not exist); run `upseed init`", path.display())]
    NotSetUp {
        /// The config file looked for.
        path: PathBuf,
    },
    /// The file is not a valid config.
    #[error("the config {} is not valid; fix it or run `upseed init --force`", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// What TOML or the schema said.
        #[source]
        source: toml::de::Error,
    },
    /// An environment override does not parse.
    #[error(transparent)]
    Env(#[from] EnvError),
    /// A setting no schedule can use.
    #[error("{key} = {value} {why}; write a duration such as `15m`, `6h` or `30days`")]
    Invalid {
        /// The setting, as `[section.key]`, or the variable that set it.
        key: String,
        /// Its value, in seconds.
        value: String,
        /// What is wrong with it.
        why: &'static str,
    },
    /// The client kind is not one upseed drives.
    #[error("`{0}` is not a client upseed drives; use `qbittorrent` or `transmission`")]
    Kind(String),
    /// Nothing says where upseed's files go.
    #[error("set UPSEED_HOME or HOME so upseed knows where its files go")]
    NoHome,
}

/// The client password cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    /// The file cannot be read.
    #[error("cannot read the password file {}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Other users can read the file.
    #[error(
        "the password file {} has mode {mode:04o}, which lets other users read it; run `chmod 600 {}`",
        path.display(),
        path.display()
    )]
    Readable {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
}

/// The files of one upseed user.
#[derive(Debug, Clone)]
pub struct Home {
    /// The config file.
    pub config: PathBuf,
    /// The secret key.
    pub identity: PathBuf,
    /// The store.
    pub store: PathBuf,
    /// Where `init` puts the posts and downloads folders by default.
    pub data: PathBuf,
}

impl Home {
    /// From `--config FILE` or `$UPSEED_HOME`: everything in that one
    /// folder. Otherwise the XDG layout: the config and identity in
    /// `$XDG_CONFIG_HOME/upseed` (`~/.config/upseed`), the store, posts
    /// and downloads in `$XDG_DATA_HOME/upseed` (`~/.local/share/upseed`).
    /// A store that an older upseed kept beside the config is still used
    /// there, never moved.
    pub fn locate(config: Option<&Path>, vars: &Vars) -> Result<Self, ConfigError> {
        if let Some(file) = config {
            let dir = file
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            return Ok(Self {
                config: file.to_owned(),
                ..Self::in_dir(dir)
            });
        }
        if let Some(home) = vars.get("UPSEED_HOME") {
            return Ok(Self::in_dir(Path::new(&home)));
        }
        let home = || {
            vars.get("HOME")
                .map(PathBuf::from)
                .ok_or(ConfigError::NoHome)
        };
        let config_dir = match vars.get("XDG_CONFIG_HOME") {
            Some(xdg) => PathBuf::from(xdg).join("upseed"),
            None => home()?.join(".config/upseed"),
        };
        let data_dir = match vars.get("XDG_DATA_HOME") {
            Some(xdg) => PathBuf::from(xdg).join("upseed"),
            None => home()?.join(".local/share/upseed"),
        };
        let legacy = config_dir.join("store.db");
        let data = if legacy.exists() && !data_dir.join("store.db").exists() {
            config_dir.clone()
        } else {
            data_dir
        };
        Ok(Self {
            config: config_dir.join("config.toml"),
            identity: config_dir.join("identity.key"),
            store: data.join("store.db"),
            data,
        })
    }

    /// Everything in one folder: `config.toml`, `identity.key`, `store.db`,
    /// and the posts and downloads folders.
    pub fn in_dir(dir: &Path) -> Self {
        Self {
            config: dir.join("config.toml"),
            identity: dir.join("identity.key"),
            store: dir.join("store.db"),
            data: dir.to_owned(),
        }
    }
}

/// `[client]`: which client, where, and as whom. `Debug` hides any
/// password in the URL.
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientSection {
    /// `qbittorrent`, `transmission` or `embedded`.
    pub kind: ClientKind,
    /// The Web UI URL, or Transmission's RPC URL; the embedded engine
    /// has none ([`ENGINE_URL`]).
    #[serde(default = "engine_url")]
    pub url: url::Url,
    /// The user name, if the client asks for one.
    pub username: Option<String>,
    /// A file holding the password (mode 0600).
    pub password_file: Option<PathBuf>,
    /// qBittorrent category or Transmission label for upseed's torrents.
    #[serde(default = "default_category")]
    pub category: String,
}

impl fmt::Debug for ClientSection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientSection")
            .field("kind", &self.kind)
            .field("url", &upseed_core::redact_url(self.url.as_str()))
            .field("username", &self.username)
            .field("password_file", &self.password_file)
            .field("category", &self.category)
            .finish()
    }
}

/// The `url` of a client section that names none: the embedded engine's.
pub const ENGINE_URL: &str = "embedded:engine";

fn engine_url() -> url::Url {
    url::Url::parse(ENGINE_URL).unwrap_or_else(|_| unreachable!("a valid URL"))
}

/// `[engine]`: the embedded engine, when `[client] kind = "embedded"`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EngineSection {
    /// The TCP port peers reach the engine on; 0: any free one.
    pub port: u16,
    /// The local address to listen on; unset: all.
    pub bind: Option<std::net::IpAddr>,
    /// The UDP port of the engine's DHT node (which finds peers with no
    /// tracker, under `[dht] enabled` and `bootstrap`); 0: any free one.
    pub dht_port: u16,
}

fn default_category() -> String {
    "upseed".to_owned()
}

/// `[posts]`: where bodies are written and downloads land, as upseed sees them.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostsSection {
    /// Where upseed writes the bodies of our posts and comments.
    pub dir: PathBuf,
    /// Where the client saves what we read and upvote.
    pub downloads: PathBuf,
}

/// `[paths]`: the client sees our folders under another prefix.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PathsSection {
    /// The prefix as upseed sees it.
    pub local: Option<PathBuf>,
    /// The same prefix as the client sees it.
    pub remote: Option<String>,
}

/// `[trackers]`: announce URLs put in every torrent and magnet.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrackersSection {
    /// Announce URLs, in order of preference.
    #[serde(default)]
    pub urls: Vec<String>,
    /// Ask HTTP trackers for a full scrape (every torrent they track, in
    /// one request), which is how `sync` discovers new posts; otherwise
    /// scrape known torrents in batches.
    #[serde(default = "yes")]
    pub full_scrape: bool,
}

fn yes() -> bool {
    true
}

impl Default for TrackersSection {
    fn default() -> Self {
        Self {
            urls: Vec::new(),
            full_scrape: true,
        }
    }
}

/// `[retention]`: when posts nobody seeds leave the feeds, then the store.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetentionSection {
    /// Refreshes in a row that must count no seeder before a post fades.
    pub fade_after_refreshes: u32,
    /// How long a post must go unseeded before it fades.
    #[serde(with = "humantime_serde")]
    pub grace: Duration,
    /// How long a faded post stays in the store before `gc` deletes it.
    #[serde(with = "humantime_serde")]
    pub keep: Duration,
}

impl Default for RetentionSection {
    fn default() -> Self {
        let policy = FadePolicy::default();
        Self {
            fade_after_refreshes: policy.refreshes,
            grace: Duration::from_secs(policy.grace),
            keep: Duration::from_secs(policy.retention),
        }
    }
}

impl RetentionSection {
    /// The section as core's policy.
    pub fn policy(&self) -> FadePolicy {
        FadePolicy {
            refreshes: self.fade_after_refreshes,
            grace: self.grace.as_secs(),
            retention: self.keep.as_secs(),
        }
    }
}

/// `[trust]`: whose upvotes count in trusted counts (PROTOCOL.md §15).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrustSection {
    /// How many of your follows must follow a key for its upvotes to count.
    pub min_followers: usize,
    /// Feeds rank by trusted count once you follow at least this many keys
    /// (and by seeders before); 0 ranks by trusted count from the start.
    pub rank_after_follows: usize,
}

impl Default for TrustSection {
    fn default() -> Self {
        Self {
            min_followers: TrustRule::default().min_followers,
            rank_after_follows: 3,
        }
    }
}

impl TrustSection {
    /// The section as core's rule.
    pub fn rule(&self) -> TrustRule {
        TrustRule {
            min_followers: self.min_followers.max(1),
            ..TrustRule::default()
        }
    }
}

/// `[verify]`: seeding probes, which ask peers that claim to seed a post
/// for a piece of it and check the piece (PROTOCOL.md §21).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct VerifySection {
    /// Whether `sync` probes at all.
    pub enabled: bool,
    /// Posts probed in one refresh, the least lately probed first.
    pub posts_per_sync: usize,
    /// Peers probed per post, sampled from what its trackers list.
    pub peers_per_post: usize,
    /// How long one probe may take, connecting included.
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
    /// How long a probe's result stands before the peer is probed again.
    #[serde(with = "humantime_serde")]
    pub valid_for: Duration,
}

impl Default for VerifySection {
    fn default() -> Self {
        Self {
            enabled: true,
            posts_per_sync: 8,
            peers_per_post: 4,
            timeout: Duration::from_secs(10),
            valid_for: Duration::from_secs(6 * 3600),
        }
    }
}

/// `[seeding]`: how much of other people's work the user keeps seeding.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SeedingSection {
    /// The most torrents to seed, your own posts and pins included.
    pub max_torrents: usize,
    /// How long an upvote seeds; `0s` for ever.
    #[serde(with = "humantime_serde")]
    pub upvote_max_age: Duration,
}

impl Default for SeedingSection {
    fn default() -> Self {
        let policy = SeedPolicy::default();
        Self {
            max_torrents: policy.max_torrents,
            upvote_max_age: Duration::from_secs(policy.upvote_max_age.unwrap_or(0)),
        }
    }
}

impl SeedingSection {
    /// The section as core's policy.
    pub fn policy(&self) -> SeedPolicy {
        SeedPolicy {
            max_torrents: self.max_torrents,
            upvote_max_age: Some(self.upvote_max_age.as_secs()).filter(|s| *s > 0),
        }
    }
}

/// `[daemon]`: what `upseed daemon` does, and how often.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DaemonSection {
    /// How often to refresh counts and discover posts (and then apply the rules).
    #[serde(with = "humantime_serde")]
    pub sync_every: Duration,
    /// How often to apply the retention policy (`upseed gc`).
    #[serde(with = "humantime_serde")]
    pub gc_every: Duration,
    /// Up to this much random delay on top of each interval.
    #[serde(with = "humantime_serde")]
    pub jitter: Duration,
    /// Give up on a download after this long.
    #[serde(with = "humantime_serde")]
    pub fetch_timeout: Duration,
    /// Fetch at most this many newly discovered posts per refresh.
    pub fetch_limit: usize,
    /// Seed the top posts of a feed.
    pub seed_top: Vec<SeedTopRule>,
    /// Seed posts you have read that are about to fade.
    pub rescue: Option<RescueRule>,
    /// Seed everything by the authors you follow.
    pub seed_followed: Option<FollowedRule>,
}

impl Default for DaemonSection {
    fn default() -> Self {
        Self {
            sync_every: Duration::from_secs(15 * 60),
            gc_every: Duration::from_secs(6 * 3600),
            jitter: Duration::from_secs(60),
            fetch_timeout: Duration::from_secs(120),
            fetch_limit: 50,
            seed_top: Vec::new(),
            rescue: None,
            seed_followed: None,
        }
    }
}

/// `[[daemon.seed_top]]`: seed the best `count` posts of a window.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedTopRule {
    /// Only this community; every community when absent.
    pub community: Option<String>,
    /// `day`, `week`, `month`, `year` or `all`.
    pub window: upseed_core::rank::Window,
    /// How many posts.
    pub count: usize,
    /// Rank by `seeders` (the default), by `trusted` count or by `verified` seeders.
    #[serde(default)]
    pub by: upseed_core::rank::Basis,
    /// Only log what the rule would seed.
    #[serde(default)]
    pub dry_run: bool,
}

/// `[daemon.rescue]`: seed posts you have read before they fade.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RescueRule {
    /// Rescue posts with fewer seeders than this.
    pub below: u32,
    /// At most this many rescued posts seeded at once.
    pub budget: usize,
    /// Only log what the rule would seed.
    #[serde(default)]
    pub dry_run: bool,
}

/// `[dht]`: the mainline DHT, where outboxes and boards live.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DhtSection {
    /// Use the DHT to publish and discover posts.
    pub enabled: bool,
    /// `host:port` nodes to join through; empty: the mainline defaults.
    pub bootstrap: Vec<String>,
    /// The local address to bind; unset: all.
    pub bind: Option<std::net::Ipv4Addr>,
    /// The local UDP port; 0: any free one.
    pub port: u16,
    /// How long to wait for one node's answer, in milliseconds.
    pub request_timeout_ms: u64,
}

impl Default for DhtSection {
    fn default() -> Self {
        Self {
            enabled: true,
            bootstrap: Vec::new(),
            bind: None,
            port: 0,
            request_timeout_ms: 2_000,
        }
    }
}

/// `[daemon.seed_followed]`: seed what the authors you follow write.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FollowedRule {
    /// Only log what the rule would seed.
    #[serde(default)]
    pub dry_run: bool,
}

/// The whole config.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
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
    /// Fading and retention.
    #[serde(default)]
    pub retention: RetentionSection,
    /// The seeded set.
    #[serde(default)]
    pub seeding: SeedingSection,
    /// `upseed daemon`.
    #[serde(default)]
    pub daemon: DaemonSection,
    /// The DHT.
    #[serde(default)]
    pub dht: DhtSection,
    /// The web of trust.
    #[serde(default)]
    pub trust: TrustSection,
    /// Seeding probes.
    #[serde(default)]
    pub verify: VerifySection,
    /// The embedded engine.
    #[serde(default)]
    pub engine: EngineSection,
}

impl Config {
    /// Reads the file at `path`, then applies the overrides in `vars`.
    pub fn load(path: &Path, vars: &Vars) -> Result<Self, ConfigError> {
        Ok(Self::load_table(path, vars)?.0)
    }

    /// The config at `path` with the overrides in `vars`, and the file's
    /// own table, from which [`Config::shown`] tells where each value
    /// came from.
    pub fn load_table(path: &Path, vars: &Vars) -> Result<(Self, toml::Table), ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        let parse = |source| ConfigError::Parse {
            path: path.to_owned(),
            source,
        };
        // Read from the text first, so the file's own errors name their line.
        let mut config: Self = toml::from_str(&text).map_err(parse)?;
        let file: toml::Table = toml::from_str(&text).map_err(parse)?;
        let overrides = settings::overrides(vars)?;
        if !overrides.is_empty() {
            let with = |overrides: &[settings::Override]| {
                let mut table = file.clone();
                for o in overrides {
                    settings::apply(&mut table, &o.setting, o.value.clone());
                }
                toml::Value::Table(table).try_into::<Self>()
            };
            config = match with(&overrides) {
                Ok(config) => config,
                Err(error) => {
                    // Name the variable: the first one that fails alone.
                    let culprit = overrides
                        .iter()
                        .find(|o| with(std::slice::from_ref(o)).is_err())
                        .unwrap_or(&overrides[0]);
                    return Err(EnvError {
                        name: culprit.name.clone(),
                        value: culprit.text.clone(),
                        what: "a valid value for this setting",
                        source: Box::new(error),
                    }
                    .into());
                }
            };
        }
        config.check().map_err(|error| match error {
            // Name the variable when the value came from one.
            ConfigError::Invalid { key, value, why } => {
                let from = overrides
                    .iter()
                    .find(|o| format!("[{}]", o.setting.path()) == key);
                ConfigError::Invalid {
                    key: from.map_or(key, |o| o.name.clone()),
                    value,
                    why,
                }
            }
            other => other,
        })?;
        Ok((config, file))
    }

    /// Every setting's effective value, and where it came from. The
    /// client URL's password, if any, is redacted.
    pub fn shown(&self, file: &toml::Table, vars: &Vars) -> Vec<Shown> {
        let effective = toml::Table::try_from(self).unwrap_or_default();
        settings::sources(file, vars)
            .into_iter()
            .map(|(setting, source)| {
                let mut value = settings::value_at(&effective, &setting).cloned();
                // As the config file writes durations: `90days`, not months.
                if setting.kind == settings::ValueKind::Duration
                    && let Some(d) = value
                        .as_ref()
                        .and_then(toml::Value::as_str)
                        .and_then(|t| humantime::parse_duration(t).ok())
                {
                    value = Some(toml::Value::String(duration_text(d)));
                }
                if setting.path() == "client.url" {
                    value = Some(toml::Value::String(upseed_core::redact_url(
                        self.client.url.as_str(),
                    )));
                }
                Shown {
                    key: setting.path(),
                    env: setting.env_name(),
                    value,
                    source,
                }
            })
            .collect()
    }

    /// Where the client password comes from, given `vars`.
    pub fn password_source(&self, vars: &Vars) -> PasswordSource {
        if vars.get("UPSEED_CLIENT_PASSWORD").is_some() {
            PasswordSource::Env
        } else if let Some(file) = &self.client.password_file {
            PasswordSource::File(file.clone())
        } else {
            PasswordSource::None
        }
    }

    /// Refuses settings no schedule can use: a duration over 100 years, an
    /// interval or fetch timeout of zero.
    pub fn check(&self) -> Result<(), ConfigError> {
        const CENTURY: u64 = 100 * 365 * 86_400;
        if self.client.kind != ClientKind::Embedded
            && !matches!(self.client.url.scheme(), "http" | "https")
        {
            return Err(ConfigError::Invalid {
                key: "[client.url]".into(),
                value: upseed_core::redact_url(self.client.url.as_str()),
                why: "is not an http:// address; give the client's Web UI or RPC URL",
            });
        }
        let durations = [
            ("retention.grace", self.retention.grace, false),
            ("retention.keep", self.retention.keep, false),
            ("seeding.upvote_max_age", self.seeding.upvote_max_age, false),
            ("daemon.sync_every", self.daemon.sync_every, true),
            ("daemon.gc_every", self.daemon.gc_every, true),
            ("daemon.jitter", self.daemon.jitter, false),
            ("daemon.fetch_timeout", self.daemon.fetch_timeout, true),
            ("verify.timeout", self.verify.timeout, true),
            ("verify.valid_for", self.verify.valid_for, false),
        ];
        for (key, value, positive) in durations {
            let why = if value.as_secs() > CENTURY {
                "is over 100 years"
            } else if positive && value.is_zero() {
                "must be more than 0s"
            } else {
                continue;
            };
            return Err(ConfigError::Invalid {
                key: format!("[{key}]"),
                value: format!("{}s", value.as_secs()),
                why,
            });
        }
        Ok(())
    }

    /// The client password: `UPSEED_CLIENT_PASSWORD` in `vars`, else the
    /// password file, which only its owner may read.
    pub fn password(&self, vars: &Vars) -> Result<Option<Password>, PasswordError> {
        if let Some(password) = vars.get("UPSEED_CLIENT_PASSWORD") {
            return Ok(Some(Password::new(password)));
        }
        let Some(file) = &self.client.password_file else {
            return Ok(None);
        };
        let read = |source| PasswordError::Read {
            path: file.clone(),
            source,
        };
        let mode = std::fs::metadata(file).map_err(read)?.permissions().mode();
        if mode & 0o077 != 0 {
            return Err(PasswordError::Readable {
                path: file.clone(),
                mode: mode & 0o7777,
            });
        }
        let text = zeroize::Zeroizing::new(std::fs::read_to_string(file).map_err(read)?);
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

/// A duration as the config writes it: whole days, hours, minutes or
/// seconds, such as `90days` or `36h`, which `humantime` reads back.
pub fn duration_text(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0 => "0s".to_owned(),
        86_400 => "1day".to_owned(),
        _ if s.is_multiple_of(86_400) => format!("{}days", s / 86_400),
        _ if s.is_multiple_of(3_600) => format!("{}h", s / 3_600),
        _ if s.is_multiple_of(60) => format!("{}m", s / 60),
        _ => format!("{s}s"),
    }
}

fn duration_string(d: Duration) -> String {
    toml_string(&duration_text(d))
}

/// Well-known open trackers, which `upseed init` offers as the default.
pub const OPEN_TRACKERS: &[&str] = &[
    "udp://tracker.opentrackr.org:1337/announce",
    "udp://open.stealth.si:80/announce",
    "udp://tracker.torrent.eu.org:451/announce",
    "udp://exodus.desync.com:6969/announce",
];

/// `qbittorrent`, `transmission` or `embedded`.
pub fn parse_kind(text: &str) -> Result<ClientKind, ConfigError> {
    match text.trim().to_ascii_lowercase().as_str() {
        "qbittorrent" | "qbt" => Ok(ClientKind::Qbittorrent),
        "transmission" => Ok(ClientKind::Transmission),
        "embedded" | "librqbit" => Ok(ClientKind::Embedded),
        other => Err(ConfigError::Kind(other.to_owned())),
    }
}

/// The commented config file `upseed init` writes.
pub fn template(config: &Config) -> String {
    let kind = match config.client.kind {
        ClientKind::Qbittorrent => "qbittorrent",
        ClientKind::Transmission => "transmission",
        ClientKind::Embedded => "embedded",
    };
    let url = match config.client.kind {
        ClientKind::Embedded => "# url = \"http://127.0.0.1:8080/\"".to_owned(),
        _ => format!("url = {}", toml_string(config.client.url.as_str())),
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
# for example UPSEED_CLIENT_URL or UPSEED_DAEMON_RESCUE_BELOW; lists are
# comma-separated. `upseed config show` prints each value and where it came from.

[client]
# The BitTorrent client upseed drives: "qbittorrent", "transmission", or
# "embedded" for upseed's own engine, which `upseed daemon` or `upseed serve` runs.
kind = "{kind}"
# qBittorrent: the Web UI address. Transmission: the RPC URL, ending in /transmission/rpc.
{url}
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
# Ask HTTP trackers for every torrent they track in one request: this is how
# `upseed sync` discovers posts and comments from strangers. Turn it off for big
# public trackers; known posts are then scraped in batches of 64.
full_scrape = {full_scrape}

[retention]
# A post nobody seeds leaves the feeds once this many refreshes (`upseed sync`)
# in a row counted no seeder, over at least `grace`. A seeder brings it back.
fade_after_refreshes = {fade_after_refreshes}
grace = {grace}
# `upseed gc` deletes a faded post, with its comments, from the store this long
# after it faded, unless you wrote, upvoted or pinned anything in its thread.
keep = {keep}

[seeding]
# The most torrents you seed: your posts, upvotes and pins. `upseed gc` stops
# the oldest upvotes beyond it. Your own posts stop only with `gc --authored`.
max_torrents = {max_torrents}
# Upvotes stop seeding after this long unless pinned; "0s" keeps them for ever.
upvote_max_age = {upvote_max_age}

[daemon]
# `upseed daemon` refreshes counts and discovers posts this often, then applies
# the seeding rules below;
sync_every = {sync_every}
# and applies the retention policy (`upseed gc`) this often.
gc_every = {gc_every}
# Up to this much random delay is added to each interval.
jitter = {jitter}
# A download gives up after fetch_timeout; a refresh fetches at most fetch_limit new posts.
fetch_timeout = {fetch_timeout}
fetch_limit = {fetch_limit}

# Seed the best `count` posts of a window, in one community or in all (repeat
# the table for more rules). With dry_run, the daemon only logs what it would seed.
# [[daemon.seed_top]]
# community = "rust"
# window = "week"
# count = 10
# by = "trusted"     # rank by trusted count (or "verified": verified seeders), not by seeders
# dry_run = false

# Seed posts you have read that fewer than `below` people seed, so they do not
# fade, with at most `budget` such rescues seeded at once.
# [daemon.rescue]
# below = 2
# budget = 20
# dry_run = false

# Seed every post and comment by the authors you follow (`upseed follow`).
# [daemon.seed_followed]
# dry_run = false

[dht]
# Publish your outbox, and post to and read community and reply boards, on the
# mainline DHT: how people you follow, and strangers, find your posts without a server.
enabled = {dht_enabled}
# Nodes to join through ("host:port"); empty uses the mainline defaults.
bootstrap = [{dht_bootstrap}]
# The local IPv4 address the DHT's UDP socket binds. Unset, it binds 0.0.0.0 (every
# interface), as a DHT node must to be reachable; set "127.0.0.1" to keep it local.
{dht_bind}
# The local UDP port; 0 picks a free one at each start.
port = {dht_port}
# How long to wait for one DHT node's answer, in milliseconds.
request_timeout_ms = {dht_timeout}

[trust]
# The upvotes that count in a post's trusted count: yours, those of the keys you
# follow, and those of keys at least min_followers of your follows follow.
min_followers = {trust_min_followers}
# Feeds rank by trusted count once you follow this many keys (by seeders before).
rank_after_follows = {trust_rank_after}

[verify]
# Each refresh asks up to peers_per_post peers that trackers list as seeding each
# of posts_per_sync posts for one piece, and checks it against the author's
# signed hash: the "verified seeders" beside the swarm's claimed count.
enabled = {verify_enabled}
posts_per_sync = {verify_posts}
peers_per_post = {verify_peers}
# One probe gives up after timeout; a result stands for valid_for.
timeout = {verify_timeout}
valid_for = {verify_valid_for}

[engine]
# The embedded engine (kind = "embedded"): the TCP port peers reach it on, and the
# UDP port of its DHT node, which finds peers with no tracker; 0 picks a free one.
port = {engine_port}
{engine_bind}
dht_port = {engine_dht_port}
"#,
        category = toml_string(&config.client.category),
        dir = toml_string(&config.posts.dir.display().to_string()),
        downloads = toml_string(&config.posts.downloads.display().to_string()),
        trackers = trackers.join(", "),
        full_scrape = config.trackers.full_scrape,
        fade_after_refreshes = config.retention.fade_after_refreshes,
        grace = duration_string(config.retention.grace),
        keep = duration_string(config.retention.keep),
        max_torrents = config.seeding.max_torrents,
        upvote_max_age = duration_string(config.seeding.upvote_max_age),
        sync_every = duration_string(config.daemon.sync_every),
        gc_every = duration_string(config.daemon.gc_every),
        jitter = duration_string(config.daemon.jitter),
        fetch_timeout = duration_string(config.daemon.fetch_timeout),
        fetch_limit = config.daemon.fetch_limit,
        dht_enabled = config.dht.enabled,
        trust_min_followers = config.trust.min_followers,
        trust_rank_after = config.trust.rank_after_follows,
        verify_enabled = config.verify.enabled,
        verify_posts = config.verify.posts_per_sync,
        verify_peers = config.verify.peers_per_post,
        verify_timeout = duration_string(config.verify.timeout),
        verify_valid_for = duration_string(config.verify.valid_for),
        dht_bind = config.dht.bind.map_or_else(
            || "# bind = \"0.0.0.0\"".to_owned(),
            |b| format!("bind = \"{b}\""),
        ),
        dht_port = config.dht.port,
        engine_port = config.engine.port,
        engine_dht_port = config.engine.dht_port,
        engine_bind = config.engine.bind.map_or_else(
            || "# bind = \"0.0.0.0\"".to_owned(),
            |b| format!("bind = \"{b}\""),
        ),
        dht_timeout = config.dht.request_timeout_ms,
        dht_bootstrap = config
            .dht
            .bootstrap
            .iter()
            .map(|b| toml_string(b))
            .collect::<Vec<_>>()
            .join(", "),
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
                full_scrape: false,
            },
            retention: RetentionSection {
                grace: Duration::from_secs(36 * 3600),
                ..RetentionSection::default()
            },
            seeding: SeedingSection::default(),
            daemon: DaemonSection::default(),
            dht: DhtSection::default(),
            trust: TrustSection {
                min_followers: 3,
                rank_after_follows: 5,
            },
            verify: VerifySection {
                peers_per_post: 6,
                ..VerifySection::default()
            },
            engine: EngineSection {
                port: 51413,
                bind: Some(std::net::Ipv4Addr::LOCALHOST.into()),
                dht_port: 0,
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
    fn durations_read_back() {
        for secs in [0, 59, 60, 3_600, 36 * 3_600, 86_400, 90 * 86_400, 90_061] {
            let d = Duration::from_secs(secs);
            assert_eq!(humantime::parse_duration(&duration_text(d)).unwrap(), d);
        }
        assert_eq!(duration_text(Duration::from_secs(90 * 86_400)), "90days");
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
        let vars = Vars::default();
        let error = config.password(&vars).unwrap_err().to_string();
        assert!(error.contains("chmod 600"), "{error}");
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(config.password(&vars).unwrap().unwrap().expose(), "secret");
        let vars = vars.with("UPSEED_CLIENT_PASSWORD", "from the environment");
        assert_eq!(
            config.password(&vars).unwrap().unwrap().expose(),
            "from the environment"
        );
        assert!(!format!("{vars:?}").contains("from the environment"));
    }

    #[test]
    fn durations_no_schedule_can_use_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        let text = template(&sample());
        std::fs::write(&path, &text).unwrap();
        assert!(Config::load(&path, &Vars::default()).is_ok());
        for (from, to, key) in [
            (
                "jitter = \"1m\"",
                "jitter = \"18446744073709551615s\"",
                "daemon.jitter",
            ),
            (
                "sync_every = \"15m\"",
                "sync_every = \"0s\"",
                "daemon.sync_every",
            ),
        ] {
            assert!(text.contains(from), "{from}");
            std::fs::write(&path, text.replace(from, to)).unwrap();
            let error = Config::load(&path, &Vars::default())
                .unwrap_err()
                .to_string();
            assert!(error.contains(key), "{error}");
        }
        std::fs::write(&path, &text).unwrap();
        let vars = Vars::default().with("UPSEED_RETENTION_KEEP", "1000years");
        let error = Config::load(&path, &vars).unwrap_err().to_string();
        assert!(error.contains("UPSEED_RETENTION_KEEP"), "{error}");
    }

    #[test]
    fn every_setting_is_overridden_by_its_variable() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, template(&sample())).unwrap();
        let vars = Vars::default()
            .with("UPSEED_DAEMON_SYNC_EVERY", "5m")
            .with("UPSEED_DAEMON_FETCH_TIMEOUT", "30s")
            .with("UPSEED_DAEMON_RESCUE_BELOW", "3")
            .with("UPSEED_DAEMON_RESCUE_BUDGET", "7")
            .with("UPSEED_DHT_PORT", "6881")
            .with("UPSEED_DHT_BOOTSTRAP", "127.0.0.1:1, 127.0.0.1:2")
            .with(
                "UPSEED_DAEMON_SEED_TOP",
                r#"[{ window = "week", count = 4 }]"#,
            )
            .with("UPSEED_CLIENT_URL", "http://127.0.0.1:9/transmission/rpc");
        let (config, file) = Config::load_table(&path, &vars).unwrap();
        assert_eq!(config.daemon.sync_every, Duration::from_secs(300));
        assert_eq!(config.daemon.fetch_timeout, Duration::from_secs(30));
        let rescue = config.daemon.rescue.as_ref().unwrap();
        assert_eq!((rescue.below, rescue.budget), (3, 7));
        assert_eq!(config.dht.port, 6881);
        assert_eq!(config.dht.bootstrap, ["127.0.0.1:1", "127.0.0.1:2"]);
        assert_eq!(config.daemon.seed_top[0].count, 4);
        let shown = config.shown(&file, &vars);
        let source = |key: &str| &shown.iter().find(|s| s.key == key).unwrap().source;
        assert_eq!(
            source("daemon.sync_every"),
            &Source::Env {
                name: "UPSEED_DAEMON_SYNC_EVERY".into()
            }
        );
        assert_eq!(source("daemon.gc_every"), &Source::File);
        assert_eq!(source("daemon.seed_followed.dry_run"), &Source::Default);
        assert_eq!(
            shown
                .iter()
                .find(|s| s.key == "daemon.sync_every")
                .unwrap()
                .value,
            Some(toml::Value::String("5m".into()))
        );
    }

    #[test]
    fn a_bad_override_names_its_variable() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, template(&sample())).unwrap();
        for (name, value) in [
            ("UPSEED_CLIENT_URL", "not a url"),
            ("UPSEED_DHT_ENABLED", "maybe"),
            ("UPSEED_DAEMON_SYNC_EVERY", "soon"),
            ("UPSEED_DHT_BIND", "everywhere"),
        ] {
            let vars = Vars::default()
                .with("UPSEED_DHT_PORT", "6881")
                .with(name, value);
            let error = Config::load(&path, &vars).unwrap_err();
            assert!(
                matches!(error, ConfigError::Env { .. }),
                "{name}: {error:?}"
            );
            assert!(error.to_string().contains(name), "{error}");
        }
    }

    #[test]
    fn a_wrong_type_in_the_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        let text = template(&sample()).replace("bootstrap = []", "bootstrap = \"127.0.0.1:9\"");
        assert!(text.contains("127.0.0.1:9\""));
        std::fs::write(&path, text).unwrap();
        let error = Config::load(&path, &Vars::default()).unwrap_err();
        assert!(matches!(error, ConfigError::Parse { .. }), "{error:?}");
    }

    #[test]
    fn the_xdg_layout_keeps_data_apart_and_finds_an_old_store() {
        let dir = tempfile::tempdir().unwrap();
        let vars = Vars::default().with("HOME", dir.path().to_str().unwrap());
        let home = Home::locate(None, &vars).unwrap();
        assert_eq!(home.config, dir.path().join(".config/upseed/config.toml"));
        assert_eq!(
            home.identity,
            dir.path().join(".config/upseed/identity.key")
        );
        assert_eq!(home.store, dir.path().join(".local/share/upseed/store.db"));
        let xdg = vars
            .clone()
            .with("XDG_DATA_HOME", dir.path().join("data").to_str().unwrap());
        assert_eq!(
            Home::locate(None, &xdg).unwrap().store,
            dir.path().join("data/upseed/store.db")
        );
        // A store an older upseed kept beside the config is still found.
        std::fs::create_dir_all(dir.path().join(".config/upseed")).unwrap();
        std::fs::write(dir.path().join(".config/upseed/store.db"), b"").unwrap();
        let old = Home::locate(None, &vars).unwrap();
        assert_eq!(old.store, dir.path().join(".config/upseed/store.db"));
        assert_eq!(old.data, dir.path().join(".config/upseed"));
        // One folder for everything with UPSEED_HOME.
        let one = Home::locate(None, &vars.with("UPSEED_HOME", "/srv/u")).unwrap();
        assert_eq!(one.store, Path::new("/srv/u/store.db"));
        assert_eq!(one.config, Path::new("/srv/u/config.toml"));
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
