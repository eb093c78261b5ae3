//! `upseed doctor`: checks every part of the setup that posting, reading
//! and seeding depend on, and says how to fix each failure.

use std::path::Path;
use std::time::Duration;

use upseed_core::{AddTorrent, PostDraft, SecretKey, TorrentClient, TorrentState};

use crate::config::{Config, Home};
use crate::scrape;
use crate::store::Store;
use crate::{Error, error_chain, keyfile};

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Fine.
    Ok,
    /// Works, but may bite later.
    Warn,
    /// Broken: upseed cannot work until it is fixed.
    Fail,
}

/// One check.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct Check {
    /// What was checked.
    pub name: String,
    /// How it came out.
    pub outcome: Outcome,
    /// What was found, and for a failure, the fix.
    pub detail: String,
}

fn check(name: &str, outcome: Outcome, detail: impl Into<String>) -> Check {
    Check {
        name: name.to_owned(),
        outcome,
        detail: detail.into(),
    }
}

/// Runs every check. The client checks stop at the first that fails,
/// since the later ones need a working client.
pub async fn run<C: TorrentClient>(
    home: &Home,
    config: &Config,
    client: Result<&C, Error>,
    now: u64,
) -> Vec<Check> {
    let mut checks = Vec::new();
    let key = match keyfile::load(&home.identity) {
        Ok(key) => {
            checks.push(check(
                "identity",
                Outcome::Ok,
                format!("{} ({})", key.public_key(), home.identity.display()),
            ));
            Some(key)
        }
        Err(error) => {
            checks.push(check("identity", Outcome::Fail, error_chain(&error)));
            None
        }
    };
    checks.push(match Store::open(&home.store) {
        Ok(_) => check("store", Outcome::Ok, home.store.display().to_string()),
        Err(error) => check("store", Outcome::Fail, error.to_string()),
    });
    for (name, dir) in [
        ("posts folder", &config.posts.dir),
        ("downloads folder", &config.posts.downloads),
    ] {
        checks.push(match writable(dir) {
            Ok(()) => check(name, Outcome::Ok, format!("{} is writable", dir.display())),
            Err(error) => check(
                name,
                Outcome::Fail,
                format!(
                    "cannot write to {} ({error}); create it or fix its permissions, or set another folder in [posts]",
                    dir.display()
                ),
            ),
        });
    }
    checks.extend(client_checks(home, config, client, key.as_ref(), now).await);
    checks.extend(tracker_checks(config).await);
    checks.push(dht_check(config).await);
    checks
}

/// Joins the DHT as every command that uses it would.
async fn dht_check(config: &Config) -> Check {
    const NAME: &str = "dht";
    match crate::dht::Dht::join(&config.dht).await {
        Ok(None) => check(
            NAME,
            Outcome::Ok,
            "off ([dht] enabled = false): outboxes and boards are neither read nor published, so only trackers find posts",
        ),
        Ok(Some(dht)) => {
            let addr = dht.local_addr().await;
            let bound = if addr.ip().is_unspecified() {
                format!(
                    "UDP port {} on every interface (set [dht] bind = \"127.0.0.1\" to keep it on this machine)",
                    addr.port()
                )
            } else {
                format!("UDP {addr}")
            };
            check(NAME, Outcome::Ok, format!("joined; listening on {bound}"))
        }
        Err(error) => check(NAME, Outcome::Warn, error.to_string()),
    }
}

fn writable(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let probe = dir.join(".upseed-doctor");
    std::fs::write(&probe, b"probe")?;
    std::fs::remove_file(&probe)
}

async fn client_checks<C: TorrentClient>(
    home: &Home,
    config: &Config,
    client: Result<&C, Error>,
    key: Option<&SecretKey>,
    now: u64,
) -> Vec<Check> {
    let mut checks = Vec::new();
    let client = match client {
        Ok(client) => client,
        Err(error) => {
            checks.push(check("client", Outcome::Fail, error_chain(&error)));
            return checks;
        }
    };
    let info = match client.info().await {
        Ok(info) => info,
        Err(error) => {
            checks.push(check("client", Outcome::Fail, error.to_string()));
            return checks;
        }
    };
    checks.push(check(
        "client",
        Outcome::Ok,
        match info.kind {
            upseed_core::ClientKind::Embedded => format!(
                "{} ({}) runs in `upseed daemon` or `upseed serve`, and answers",
                info.kind, info.version
            ),
            _ => format!(
                "{} {} (API {}) at {}, logged in",
                info.kind,
                info.version,
                info.api_version,
                upseed_core::redact_url(config.client.url.as_str())
            ),
        },
    ));
    let ours = client.list(None).await.map(|l| l.len()).unwrap_or(0);
    checks.push(match client.queue_report().await {
        Err(error) => check("queueing", Outcome::Fail, error.to_string()),
        Ok(queue) if queue.may_hold_back(ours.max(1) * 2) => check(
            "queueing",
            Outcome::Warn,
            format!(
                "the client queues torrents (at most {} seeding, {} active) and holds {ours} of ours; posts beyond the limit stop seeding. Turn queueing off, or raise the limits well above the number of posts you seed",
                limit(queue.max_active_uploads),
                limit(queue.max_active_torrents)
            ),
        ),
        Ok(queue) if queue.queueing => check(
            "queueing",
            Outcome::Ok,
            format!(
                "queueing is on, with room: at most {} seeding, {} active",
                limit(queue.max_active_uploads),
                limit(queue.max_active_torrents)
            ),
        ),
        Ok(_) => check("queueing", Outcome::Ok, "off: every torrent seeds"),
    });
    // The engine's holder sees completions itself: it has no hook.
    if info.kind != upseed_core::ClientKind::Embedded {
        checks.push(hook_check(home, config, client).await);
    }
    if let Some(key) = key {
        checks.push(visibility(config, client, key, now).await);
    }
    checks
}

/// Whether magnet links opened in the client's own window count.
async fn hook_check<C: TorrentClient>(home: &Home, config: &Config, client: &C) -> Check {
    const NAME: &str = "ingest hook";
    match crate::hook::hook_state(home, config, client).await {
        Err(error) => check(NAME, Outcome::Warn, error.to_string()),
        Ok(crate::hook::HookState::Ours(program)) => check(
            NAME,
            Outcome::Ok,
            format!(
                "the client runs `{program}` when a torrent finishes: posts opened in its own window count as upvotes"
            ),
        ),
        Ok(crate::hook::HookState::Other(program)) => check(
            NAME,
            Outcome::Warn,
            format!(
                "the client runs `{program}` when a torrent finishes, so posts opened in its own window are not counted; have it also run `upseed ingest HASH`, or `upseed ingest --install --replace`"
            ),
        ),
        Ok(crate::hook::HookState::Unset) => check(
            NAME,
            Outcome::Warn,
            "posts you open in the client's own window are not counted as upvotes; `upseed ingest --install` has the client tell upseed when a torrent finishes",
        ),
    }
}

fn limit(value: Option<i64>) -> String {
    match value {
        Some(v) if v >= 0 => v.to_string(),
        Some(_) => "unlimited".into(),
        None => "?".into(),
    }
}

/// Writes a probe post into the posts folder and has the client check it:
/// if the client cannot find the file, it cannot see the folder.
async fn visibility<C: TorrentClient>(
    config: &Config,
    client: &C,
    key: &SecretKey,
    now: u64,
) -> Check {
    const NAME: &str = "client sees the posts folder";
    let text = format!(
        "upseed doctor probe {now} {}",
        hex::encode(key.public_key().as_bytes())
    );
    let signed = PostDraft::new(&text)
        .map_err(|e| e.to_string())
        .and_then(|d| d.sign(key, now).map_err(|e| e.to_string()));
    let record = match signed {
        Ok(record) => record,
        Err(error) => return check(NAME, Outcome::Fail, error),
    };
    let dir = &config.posts.dir;
    if let Err(error) = crate::files::write_body(dir, &record) {
        return check(NAME, Outcome::Fail, error_chain(&error));
    }
    let file = dir.join(record.name());
    let remote = config.client_path(dir);
    // No trackers: the probe is never announced.
    let add = match AddTorrent::from_torrent(record.torrent_bytes::<&str>(&[]), remote.clone()) {
        Ok(add) => add.with_tags(["upseed-probe"]).with_data_present(),
        Err(error) => return check(NAME, Outcome::Fail, error.to_string()),
    };
    let hash = record.infohash();
    let outcome: Result<bool, upseed_core::ClientError> = async {
        client.add(&[add]).await?;
        let start = tokio::time::Instant::now();
        loop {
            let waited = start.elapsed();
            let status = client.list(Some(&[hash])).await?.into_iter().next();
            match status {
                Some(s) if s.progress >= 1.0 && !matches!(s.state, TorrentState::Checking) => {
                    return Ok(true);
                }
                Some(s) if matches!(s.state, TorrentState::Error(_)) => return Ok(false),
                // Checked and found wanting: the file is not where the client looked.
                Some(s)
                    if !matches!(s.state, TorrentState::Checking)
                        && waited > Duration::from_secs(5) =>
                {
                    return Ok(false);
                }
                _ if waited > Duration::from_secs(20) => return Ok(false),
                _ => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        }
    }
    .await;
    let cleanup = client.remove(&[hash], false).await;
    let _ = std::fs::remove_file(&file);
    match (outcome, cleanup) {
        (Ok(true), Ok(())) => check(
            NAME,
            Outcome::Ok,
            format!("the client found a probe post at {remote}"),
        ),
        (Ok(false), _) => check(
            NAME,
            Outcome::Fail,
            format!(
                "upseed wrote {} but the client found nothing at {remote}; if the client runs in a container or on another machine, set [paths] local and remote so that upseed can name the folder as the client sees it",
                file.display()
            ),
        ),
        (Err(error), _) | (Ok(true), Err(error)) => check(NAME, Outcome::Fail, error.to_string()),
    }
}

async fn tracker_checks(config: &Config) -> Vec<Check> {
    if config.trackers.urls.is_empty() {
        return vec![check(
            "trackers",
            Outcome::Warn,
            "none configured: others find your posts only through peers they already know. Add one under [trackers] urls",
        )];
    }
    // A random hash: a live tracker answers, with no counts.
    let probe = upseed_core::InfoHash::from_bytes(rand_hash());
    let report = scrape::scrape(&config.trackers.urls, &[probe], Duration::from_secs(5)).await;
    config
        .trackers
        .urls
        .iter()
        .map(
            |url| match report.failures.iter().find(|f| &f.tracker == url) {
                None => check(&format!("tracker {url}"), Outcome::Ok, "answers scrapes"),
                Some(failure) => check(
                    &format!("tracker {url}"),
                    Outcome::Fail,
                    format!(
                        "{}; check the URL, or remove the tracker from [trackers] urls",
                        failure.error
                    ),
                ),
            },
        )
        .collect()
}

fn rand_hash() -> [u8; 20] {
    let mut bytes = [0u8; 20];
    if getrandom::fill(&mut bytes).is_err() {
        bytes[0] = 1;
    }
    bytes
}
