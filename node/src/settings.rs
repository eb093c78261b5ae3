//! Every setting the config file holds, the environment variable that
//! overrides it, and where each effective value came from.
//!
//! A setting `[section] key` is overridden by `UPSEED_<SECTION>_<KEY>`,
//! upper-cased, with dots as underscores: `[daemon.rescue] below` by
//! `UPSEED_DAEMON_RESCUE_BELOW`. Overrides are applied to the file's TOML
//! before it is read, so a value from the environment is checked exactly
//! as the same value in the file would be. [`Vars`], the environment
//! itself, lives here too.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

/// An environment variable's value does not parse.
#[derive(Debug, thiserror::Error)]
#[error("{name} `{value}` is not {what}")]
pub struct EnvError {
    /// The variable.
    pub name: String,
    /// Its value.
    pub value: String,
    /// What it should be.
    pub what: &'static str,
    /// What the parser said.
    #[source]
    pub source: Box<dyn std::error::Error + Send + Sync>,
}

/// The environment upseed reads: its `UPSEED_*` overrides, the client
/// password, and where home is. A front end passes the process's; tests
/// pass their own. `Debug` shows the names only, never the values.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Vars(BTreeMap<String, String>);

impl fmt::Debug for Vars {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.0.keys()).finish()
    }
}

impl Vars {
    /// This process's environment.
    pub fn process() -> Self {
        Self(
            std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
                .collect(),
        )
    }

    /// Sets `name` to `value`.
    #[must_use]
    pub fn with(mut self, name: &str, value: &str) -> Self {
        self.0.insert(name.to_owned(), value.to_owned());
        self
    }

    /// The value of `name`, unless unset or empty.
    pub fn get(&self, name: &str) -> Option<String> {
        self.0.get(name).filter(|v| !v.is_empty()).cloned()
    }

    /// The names set, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }
}

/// How an environment variable's text becomes a TOML value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ValueKind {
    /// Taken as it is: a string, URL or path.
    Text,
    /// A duration such as `15m`, `36h` or `30days`.
    Duration,
    /// `true` or `false`.
    Bool,
    /// A whole number.
    Integer,
    /// Comma-separated strings.
    List,
    /// A TOML value, for tables such as `[[daemon.seed_top]]`.
    Toml,
}

impl ValueKind {
    fn what(self) -> &'static str {
        match self {
            Self::Text => "text",
            Self::Duration => "a duration such as `15m`, `36h` or `30days`",
            Self::Bool => "`true` or `false`",
            Self::Integer => "a whole number",
            Self::List => "a comma-separated list",
            Self::Toml => "a TOML value, such as `[{ window = \"week\", count = 10 }]`",
        }
    }
}

/// One setting of the config file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Setting {
    /// Its table, dotted: `client`, `daemon.rescue`.
    pub section: &'static str,
    /// Its key in that table.
    pub key: &'static str,
    /// What the environment variable holds.
    pub kind: ValueKind,
}

impl Setting {
    /// `section.key`.
    pub fn path(&self) -> String {
        format!("{}.{}", self.section, self.key)
    }

    /// The environment variable that overrides it.
    pub fn env_name(&self) -> String {
        format!("UPSEED_{}_{}", self.section, self.key)
            .replace('.', "_")
            .to_ascii_uppercase()
    }
}

macro_rules! settings {
    ($($section:literal $key:literal $kind:ident),* $(,)?) => {
        &[$(Setting { section: $section, key: $key, kind: ValueKind::$kind }),*]
    };
}

/// Every setting, in the config file's order.
pub const SETTINGS: &[Setting] = settings![
    "client" "kind" Text,
    "client" "url" Text,
    "client" "username" Text,
    "client" "password_file" Text,
    "client" "category" Text,
    "posts" "dir" Text,
    "posts" "downloads" Text,
    "paths" "local" Text,
    "paths" "remote" Text,
    "trackers" "urls" List,
    "trackers" "full_scrape" Bool,
    "retention" "fade_after_refreshes" Integer,
    "retention" "grace" Duration,
    "retention" "keep" Duration,
    "seeding" "max_torrents" Integer,
    "seeding" "upvote_max_age" Duration,
    "daemon" "sync_every" Duration,
    "daemon" "gc_every" Duration,
    "daemon" "jitter" Duration,
    "daemon" "fetch_timeout" Duration,
    "daemon" "fetch_limit" Integer,
    "daemon" "seed_top" Toml,
    "daemon.rescue" "below" Integer,
    "daemon.rescue" "budget" Integer,
    "daemon.rescue" "dry_run" Bool,
    "daemon.seed_followed" "dry_run" Bool,
    "dht" "enabled" Bool,
    "dht" "bootstrap" List,
    "dht" "bind" Text,
    "dht" "port" Integer,
    "dht" "request_timeout_ms" Integer,
    "trust" "min_followers" Integer,
    "trust" "rank_after_follows" Integer,
    "verify" "enabled" Bool,
    "verify" "posts_per_sync" Integer,
    "verify" "peers_per_post" Integer,
    "verify" "timeout" Duration,
    "verify" "valid_for" Duration,
    "engine" "port" Integer,
    "engine" "bind" Text,
    "engine" "dht_port" Integer,
];

/// Environment variables upseed reads that are not settings.
pub const OTHER_VARS: &[&str] = &[
    "UPSEED_HOME",
    "UPSEED_CLIENT_PASSWORD",
    "UPSEED_SERVE_PASSWORD",
];

/// Prefixes left to the test harness and the benchmarks.
const HARNESS_PREFIXES: &[&str] = &["UPSEED_TEST_", "UPSEED_BENCH_"];

/// Where an effective value came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(tag = "from", rename_all = "snake_case")]
pub enum Source {
    /// upseed's default: neither the file nor the environment sets it.
    Default,
    /// The config file.
    File,
    /// This environment variable.
    Env {
        /// The variable.
        name: String,
    },
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Default => f.write_str("default"),
            Self::File => f.write_str("config file"),
            Self::Env { name } => f.write_str(name),
        }
    }
}

/// The table at the dotted `section`, created when `create`.
fn table_at<'t>(
    root: &'t mut toml::Table,
    section: &str,
    create: bool,
) -> Option<&'t mut toml::Table> {
    let mut table = root;
    for part in section.split('.') {
        if create && !table.contains_key(part) {
            table.insert(part.to_owned(), toml::Value::Table(toml::Table::new()));
        }
        table = table.get_mut(part)?.as_table_mut()?;
    }
    Some(table)
}

/// The value at `section.key` in `root`, if set.
pub(crate) fn value_at<'t>(root: &'t toml::Table, setting: &Setting) -> Option<&'t toml::Value> {
    let mut table = root;
    for part in setting.section.split('.') {
        table = table.get(part)?.as_table()?;
    }
    table.get(setting.key)
}

/// The environment variable's text as the TOML value `setting` takes.
fn parse_value(setting: &Setting, name: &str, text: &str) -> Result<toml::Value, EnvError> {
    let env_error = |source: Box<dyn std::error::Error + Send + Sync>| EnvError {
        name: name.to_owned(),
        value: text.to_owned(),
        what: setting.kind.what(),
        source,
    };
    Ok(match setting.kind {
        ValueKind::Text | ValueKind::Duration => toml::Value::String(text.to_owned()),
        ValueKind::Bool => toml::Value::Boolean(
            text.trim()
                .parse()
                .map_err(|e: std::str::ParseBoolError| env_error(e.into()))?,
        ),
        ValueKind::Integer => toml::Value::Integer(
            text.trim()
                .parse()
                .map_err(|e: std::num::ParseIntError| env_error(e.into()))?,
        ),
        ValueKind::List => toml::Value::Array(
            text.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| toml::Value::String(s.to_owned()))
                .collect(),
        ),
        ValueKind::Toml => {
            let mut table: toml::Table = toml::from_str(&format!("value = {text}"))
                .map_err(|e: toml::de::Error| env_error(e.into()))?;
            table.remove("value").unwrap_or(toml::Value::Boolean(false))
        }
    })
}

/// One environment override.
#[derive(Debug, Clone)]
pub(crate) struct Override {
    pub(crate) setting: Setting,
    /// The variable.
    pub(crate) name: String,
    /// Its text.
    pub(crate) text: String,
    /// As TOML.
    pub(crate) value: toml::Value,
}

/// The overrides `vars` sets.
pub(crate) fn overrides(vars: &Vars) -> Result<Vec<Override>, EnvError> {
    let mut found = Vec::new();
    for setting in SETTINGS {
        let name = setting.env_name();
        if let Some(text) = vars.get(&name) {
            let value = parse_value(setting, &name, &text)?;
            found.push(Override {
                setting: *setting,
                name,
                text,
                value,
            });
        }
    }
    Ok(found)
}

/// Sets `setting` to `value` in `root`.
pub(crate) fn apply(root: &mut toml::Table, setting: &Setting, value: toml::Value) {
    if let Some(table) = table_at(root, setting.section, true) {
        table.insert(setting.key.to_owned(), value);
    }
}

/// Where each setting's effective value comes from, given the file's
/// table and the environment.
pub fn sources(file: &toml::Table, vars: &Vars) -> Vec<(Setting, Source)> {
    SETTINGS
        .iter()
        .map(|setting| {
            let name = setting.env_name();
            let source = if vars.get(&name).is_some() {
                Source::Env { name }
            } else if value_at(file, setting).is_some() {
                Source::File
            } else {
                Source::Default
            };
            (*setting, source)
        })
        .collect()
}

/// An `UPSEED_` variable upseed does not read, with the known name it is
/// closest to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownVar {
    /// The variable.
    pub name: String,
    /// A known variable a typo away, if any.
    pub suggestion: Option<String>,
}

impl std::fmt::Display for UnknownVar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} is not a variable upseed reads; it is ignored",
            self.name
        )?;
        match &self.suggestion {
            Some(known) => write!(f, " (did you mean {known}?)"),
            None => f.write_str(" (`upseed config show` lists the settings)"),
        }
    }
}

/// The `UPSEED_` variables in `vars` that upseed does not read.
pub fn unknown_vars(vars: &Vars) -> Vec<UnknownVar> {
    let known: Vec<String> = SETTINGS
        .iter()
        .map(Setting::env_name)
        .chain(OTHER_VARS.iter().map(|s| (*s).to_owned()))
        .collect();
    vars.names()
        .filter(|name| name.starts_with("UPSEED_"))
        .filter(|name| !HARNESS_PREFIXES.iter().any(|p| name.starts_with(p)))
        .filter(|name| !known.iter().any(|k| k == name))
        .map(|name| UnknownVar {
            name: name.to_owned(),
            suggestion: known
                .iter()
                .map(|k| (edit_distance(k, name), k))
                .filter(|(d, _)| *d <= 3)
                .min()
                .map(|(_, k)| k.clone()),
        })
        .collect()
}

/// Levenshtein distance between two ASCII-ish names.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(ca != *cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_sections() {
        let names: Vec<String> = SETTINGS.iter().map(Setting::env_name).collect();
        for name in [
            "UPSEED_CLIENT_URL",
            "UPSEED_DAEMON_SYNC_EVERY",
            "UPSEED_DAEMON_FETCH_TIMEOUT",
            "UPSEED_DAEMON_RESCUE_BELOW",
            "UPSEED_DHT_REQUEST_TIMEOUT_MS",
        ] {
            assert!(names.iter().any(|n| n == name), "{name}");
        }
        let mut unique = names.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), names.len());
    }

    #[test]
    fn unknown_names_are_found_with_a_suggestion() {
        let vars = Vars::default()
            .with("UPSEED_DAEMON_SYNCEVERY", "5m")
            .with("UPSEED_COLOUR", "blue")
            .with("UPSEED_CLIENT_PASSWORD", "x")
            .with("UPSEED_TEST_BLESS", "1")
            .with("UPSEED_DHT_ENABLED", "false")
            .with("HOME", "/home/me");
        let unknown = unknown_vars(&vars);
        assert_eq!(
            unknown,
            vec![
                UnknownVar {
                    name: "UPSEED_COLOUR".into(),
                    suggestion: None
                },
                UnknownVar {
                    name: "UPSEED_DAEMON_SYNCEVERY".into(),
                    suggestion: Some("UPSEED_DAEMON_SYNC_EVERY".into())
                },
            ]
        );
        assert!(unknown[1].to_string().contains("did you mean"));
    }

    #[test]
    fn values_parse_by_kind() {
        let seed_top = SETTINGS.iter().find(|s| s.key == "seed_top").unwrap();
        let value = parse_value(seed_top, "X", r#"[{ window = "week", count = 3 }]"#).unwrap();
        assert_eq!(value.as_array().unwrap().len(), 1);
        let port = SETTINGS.iter().find(|s| s.key == "port").unwrap();
        let error = parse_value(port, "UPSEED_DHT_PORT", "lots").unwrap_err();
        assert!(error.to_string().contains("a whole number"), "{error}");
        let enabled = SETTINGS.iter().find(|s| s.key == "enabled").unwrap();
        assert!(parse_value(enabled, "UPSEED_DHT_ENABLED", "maybe").is_err());
    }
}
