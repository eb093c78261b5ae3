//! `upseed init`: the questions it asks on a terminal, and the identity
//! and commented config it writes.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result, bail};
use upseed_core::SecretKey;
use upseed_node::config::{self, Config};
use upseed_node::{Home, keyfile};

use crate::args::InitArgs;
use crate::env::Env;

/// Asks on a terminal, or fails naming the flag when there is none.
fn ask(env: &mut Env, question: &str, default: Option<&str>, flag: &str) -> Result<String> {
    if !env.stdin_tty {
        return match default {
            Some(d) => Ok(d.to_owned()),
            None => bail!("{flag} is required when standard input is not a terminal"),
        };
    }
    match default {
        Some(d) => write!(env.err, "{question} [{d}]: ")?,
        None => write!(env.err, "{question}: ")?,
    }
    env.err.flush()?;
    let mut answer = String::new();
    env.stdin.read_line(&mut answer)?;
    let answer = answer.trim();
    match (answer.is_empty(), default) {
        (false, _) => Ok(answer.to_owned()),
        (true, Some(d)) => Ok(d.to_owned()),
        (true, None) => bail!("{flag} is required"),
    }
}

/// Creates the identity (unless there is one) and writes the config.
pub(crate) fn init(env: &mut Env, home: &Home, args: InitArgs) -> Result<()> {
    if home.config.exists() && !args.force {
        bail!(
            "{} already exists; pass --force to replace it (your identity is kept)",
            home.config.display()
        );
    }
    let dir = home.config.parent().unwrap_or(Path::new(".")).to_owned();
    let kind = config::parse_kind(&match args.client {
        Some(kind) => kind,
        None => ask(
            env,
            "Which client do you run (qbittorrent or transmission)",
            None,
            "--client",
        )?,
    })?;
    let default_url = match kind {
        upseed_core::ClientKind::Qbittorrent => "http://127.0.0.1:8080/",
        upseed_core::ClientKind::Transmission => "http://127.0.0.1:9091/transmission/rpc",
    };
    let url = match args.url {
        Some(url) => url,
        None => ask(env, "Its URL", Some(default_url), "--url")?
            .parse()
            .context("that is not a URL")?,
    };
    let config = Config {
        client: config::ClientSection {
            kind,
            url,
            username: args.username,
            password_file: args.password_file,
            category: args.category,
        },
        posts: config::PostsSection {
            dir: args.posts_dir.unwrap_or_else(|| dir.join("posts")),
            downloads: args.downloads_dir.unwrap_or_else(|| dir.join("downloads")),
        },
        paths: config::PathsSection {
            local: args.path_local,
            remote: args.path_remote,
        },
        trackers: config::TrackersSection {
            urls: args.trackers,
            full_scrape: true,
        },
        retention: config::RetentionSection::default(),
        seeding: config::SeedingSection::default(),
        daemon: config::DaemonSection::default(),
        dht: config::DhtSection::default(),
    };
    for folder in [&dir, &config.posts.dir, &config.posts.downloads] {
        std::fs::create_dir_all(folder)
            .with_context(|| format!("cannot create {}", folder.display()))?;
    }
    if home.identity.exists() {
        let key = keyfile::load(&home.identity)?;
        writeln!(env.err, "keeping your identity {}", key.public_key())?;
    } else {
        let key = SecretKey::generate()?;
        keyfile::create(&home.identity, &key)?;
        writeln!(
            env.err,
            "created your identity {} in {} (mode 0600); back it up",
            key.public_key(),
            home.identity.display()
        )?;
    }
    let tmp = home.config.with_extension("toml.tmp");
    std::fs::write(&tmp, config::template(&config))
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, &home.config)
        .with_context(|| format!("cannot write {}", home.config.display()))?;
    writeln!(env.err, "wrote {}", home.config.display())?;
    Ok(())
}
