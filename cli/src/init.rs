//! `upseed init`: the questions it asks on a terminal (client, URL, user
//! name, password, trackers), the login it tests (or, for the embedded
//! engine, its start), and the identity and commented config it writes.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use upseed_core::{ClientKind, SecretKey, TorrentClient};
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
        Some(d) if !d.is_empty() => write!(env.err, "{question} [{d}]: ")?,
        _ => write!(env.err, "{question}: ")?,
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

/// Asks for a secret: without echo on the process's own terminal, else
/// a line of standard input.
fn ask_secret(env: &mut Env, question: &str) -> Result<String> {
    if env.prompt_hidden {
        return rpassword::prompt_password(format!("{question}: "))
            .context("cannot read the password from the terminal");
    }
    write!(env.err, "{question}: ")?;
    env.err.flush()?;
    let mut answer = String::new();
    env.stdin.read_line(&mut answer)?;
    Ok(answer.trim_end_matches(['\n', '\r']).to_owned())
}

/// Writes `password` to a new file that only its owner can read.
fn write_password(path: &Path, password: &str) -> Result<()> {
    let tmp = path.with_extension("tmp");
    let _ = std::fs::remove_file(&tmp);
    let mut file = std::fs::File::options()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .with_context(|| format!("cannot create {}", tmp.display()))?;
    file.write_all(format!("{password}\n").as_bytes())
        .and_then(|()| file.sync_all())
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

/// The client's user name: the flag, else asked with the client's own
/// default (qBittorrent's `admin`; Transmission asks for none by default).
fn username(env: &mut Env, kind: ClientKind, flag: Option<String>) -> Result<Option<String>> {
    if flag.is_some() || !env.stdin_tty || kind == ClientKind::Embedded {
        return Ok(flag.filter(|u| !u.is_empty()));
    }
    let (default, question) = match kind {
        ClientKind::Qbittorrent => ("admin", "Web UI user name"),
        _ => (
            "",
            "RPC user name (empty if rpc-authentication-required is off)",
        ),
    };
    let answer = ask(env, question, Some(default), "--username")?;
    Ok(Some(answer).filter(|u| !u.is_empty()))
}

/// The password file to name in the config, and whether this run wrote it.
fn password_file(
    env: &mut Env,
    dir: &Path,
    flag: Option<PathBuf>,
    username: Option<&str>,
) -> Result<(Option<PathBuf>, bool)> {
    if let Some(file) = flag {
        // The same check every command makes, before anything is written.
        let probe = Config {
            client: config::ClientSection {
                password_file: Some(file.clone()),
                ..placeholder_client()
            },
            ..placeholder()
        };
        probe.password(&upseed_node::Vars::default())?;
        return Ok((Some(file), false));
    }
    if env.vars.get("UPSEED_CLIENT_PASSWORD").is_some() {
        writeln!(
            env.err,
            "using the password in UPSEED_CLIENT_PASSWORD (it is not saved; set it for every run, or pass --password-file)"
        )?;
        return Ok((None, false));
    }
    if !env.stdin_tty {
        return Ok((None, false));
    }
    let who = username.map_or_else(String::new, |u| format!(" for {u}"));
    let password = zeroize::Zeroizing::new(ask_secret(
        env,
        &format!("Password{who} (empty if the client asks for none)"),
    )?);
    if password.is_empty() {
        return Ok((None, false));
    }
    let path = dir.join("client-password");
    write_password(&path, &password)?;
    writeln!(
        env.err,
        "saved the password in {} (mode 0600)",
        path.display()
    )?;
    Ok((Some(path), true))
}

/// The trackers: the flags, else asked with well-known open trackers as
/// the default. Returns them, and whether they are big public ones.
fn trackers(env: &mut Env, flags: Vec<String>) -> Result<(Vec<String>, bool)> {
    if !flags.is_empty() {
        return Ok((flags, false));
    }
    if !env.stdin_tty {
        writeln!(
            env.err,
            "warning: no tracker given, so your posts' magnet links name none and peers find them only through the DHT; add --tracker URL"
        )?;
        return Ok((Vec::new(), false));
    }
    let default = config::OPEN_TRACKERS.join(",");
    let answer = ask(
        env,
        "Trackers, comma-separated (the default: well-known open trackers)",
        Some(&default),
        "--tracker",
    )?;
    let urls: Vec<String> = answer
        .split(',')
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())
        .collect();
    let public = urls
        .iter()
        .all(|u| config::OPEN_TRACKERS.contains(&u.as_str()));
    Ok((urls, public))
}

fn placeholder_client() -> config::ClientSection {
    config::ClientSection {
        kind: ClientKind::Qbittorrent,
        url: url::Url::parse("http://127.0.0.1:8080/").expect("a valid URL"),
        username: None,
        password_file: None,
        category: "upseed".into(),
    }
}

fn placeholder() -> Config {
    Config {
        client: placeholder_client(),
        posts: config::PostsSection {
            dir: PathBuf::new(),
            downloads: PathBuf::new(),
        },
        paths: config::PathsSection::default(),
        trackers: config::TrackersSection::default(),
        retention: config::RetentionSection::default(),
        seeding: config::SeedingSection::default(),
        daemon: config::DaemonSection::default(),
        dht: config::DhtSection::default(),
        trust: config::TrustSection::default(),
        verify: config::VerifySection::default(),
        engine: config::EngineSection::default(),
    }
}

/// Logs in with `config` and asks the client its version, through the
/// node (so a refused password is remembered, as every command does).
async fn test_login(env: &Env, home: &Home, config: &Config) -> Result<String> {
    let node = crate::client::node(env, home).with_config(config.clone());
    let info = node.client()?.info().await?;
    Ok(format!("{} {}", info.kind, info.version))
}

/// Creates the identity (unless there is one) and writes the config.
pub(crate) async fn init(env: &mut Env, home: &Home, args: InitArgs) -> Result<()> {
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
            "Which client do you run: qbittorrent, transmission, or embedded (upseed's own engine, if you run none)",
            Some(running_client()),
            "--client",
        )?,
    })?;
    let url = match (kind, args.url) {
        (ClientKind::Embedded, _) => config::ENGINE_URL.parse().context("the engine's URL")?,
        (_, Some(url)) => url,
        (kind, None) => ask(env, "Its URL", Some(default_url(kind)), "--url")?
            .parse()
            .context("that is not a URL")?,
    };
    for folder in [&dir, &home.data] {
        std::fs::create_dir_all(folder)
            .with_context(|| format!("cannot create {}", folder.display()))?;
    }
    let username = username(env, kind, args.username)?;
    let (password_file, wrote_password) =
        password_file(env, &dir, args.password_file, username.as_deref())?;
    let (urls, public) = trackers(env, args.trackers)?;
    let config = Config {
        client: config::ClientSection {
            kind,
            url,
            username,
            password_file: password_file.clone(),
            category: args.category,
        },
        posts: config::PostsSection {
            dir: args.posts_dir.unwrap_or_else(|| home.data.join("posts")),
            downloads: args
                .downloads_dir
                .unwrap_or_else(|| home.data.join("downloads")),
        },
        paths: config::PathsSection {
            local: args.path_local,
            remote: args.path_remote,
        },
        trackers: config::TrackersSection {
            urls,
            // Big public trackers refuse or cap full scrapes.
            full_scrape: !public,
        },
        ..placeholder()
    };
    config.check()?;
    for folder in [&config.posts.dir, &config.posts.downloads] {
        std::fs::create_dir_all(folder)
            .with_context(|| format!("cannot create {}", folder.display()))?;
    }
    if args.offline {
        writeln!(
            env.err,
            "not testing the login (--offline); `upseed doctor` does once the client runs"
        )?;
    } else if kind == ClientKind::Embedded {
        let held = crate::engine::hold(&config, home).await.context(
            "the embedded engine did not start, so no config was written; fix the cause, or pass --offline to write it without testing",
        )?;
        match held {
            Some(held) => {
                crate::engine::release(Some(&held)).await;
                writeln!(
                    env.err,
                    "the embedded engine starts; keep `upseed daemon` (or `upseed serve`) running to seed your posts"
                )?;
            }
            None => writeln!(
                env.err,
                "another upseed process holds the embedded engine; commands hand their work to it"
            )?,
        }
    } else {
        match test_login(env, home, &config).await {
            Ok(client) => writeln!(env.err, "logged in to {client}")?,
            Err(error) => {
                if wrote_password && let Some(file) = &password_file {
                    let _ = std::fs::remove_file(file);
                }
                return Err(error.context(
                    "the login test failed, so no config was written; fix the cause, or pass --offline to write it without testing",
                ));
            }
        }
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
    if !args.offline && kind != ClientKind::Embedded {
        offer_hook(env, home, &config).await?;
    }
    Ok(())
}

/// Where each client's API answers by default.
fn default_url(kind: ClientKind) -> &'static str {
    match kind {
        ClientKind::Transmission => "http://127.0.0.1:9091/transmission/rpc",
        _ => "http://127.0.0.1:8080/",
    }
}

/// The client to offer first: one that answers at its default address on
/// this machine, else the embedded engine.
fn running_client() -> &'static str {
    let answers = |url: &str| {
        url::Url::parse(url)
            .ok()
            .and_then(|u| u.socket_addrs(|| None).ok())
            .and_then(|addrs| addrs.into_iter().next())
            .is_some_and(|addr| {
                std::net::TcpStream::connect_timeout(&addr, std::time::Duration::from_millis(300))
                    .is_ok()
            })
    };
    if answers(default_url(ClientKind::Qbittorrent)) {
        "qbittorrent"
    } else if answers(default_url(ClientKind::Transmission)) {
        "transmission"
    } else {
        "embedded"
    }
}

/// Offers, on a terminal, to have the client run `upseed ingest` when a
/// torrent finishes, so that posts opened in its own window count.
async fn offer_hook(env: &mut Env, home: &Home, config: &Config) -> Result<()> {
    let tip = "`upseed ingest --install` has your client count posts you open in its own window as upvotes";
    if !env.stdin_tty {
        writeln!(env.err, "tip: {tip}")?;
        return Ok(());
    }
    let answer = ask(
        env,
        &format!(
            "Count posts you open in {}'s own window as upvotes (sets its run-on-finish program)? [y/n]",
            config.client.kind
        ),
        Some("y"),
        "",
    )?;
    if !answer.trim().to_ascii_lowercase().starts_with('y') {
        writeln!(env.err, "tip: {tip}")?;
        return Ok(());
    }
    if config.client.password_file.is_none() && config.client.username.is_some() {
        writeln!(
            env.err,
            "note: the client runs the hook without your environment, so it needs the password saved in a file (--password-file)"
        )?;
    }
    let node = crate::client::node(env, home).with_config(config.clone());
    let program = std::env::current_exe().context("cannot find this upseed's own path")?;
    match node.install_hook(&program, false).await {
        Ok(hook) => writeln!(
            env.err,
            "your client runs {} when a torrent finishes",
            hook.display()
        )?,
        Err(error) => writeln!(
            env.err,
            "warning: {}",
            crate::render::clean(&upseed_node::error_chain(&error))
        )?,
    }
    Ok(())
}
