//! Dispatch, output and exit codes: each command parses into a call on
//! the node, and its result into text or one JSON document.

use std::ffi::OsString;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Parser;
use upseed_core::rank::{Sort, Window};
use upseed_core::{ClientError, Kind, Record, SecretKey, Torrent, VerifyError};
use upseed_node::gc::GcOptions;
use upseed_node::sync::SyncOptions;
use upseed_node::{Error, FeedQuery, Home, Node, PostInput, SearchOrder, Upvoted, keyfile, now};

use crate::args::{
    Cli, Command, ConfigCommand, EditArgs, FeedArgs, FeedSort, IngestArgs, KeyCommand, MuteArgs,
    MutesAction, MutesArgs, PostArgs, SearchOrderArg, ThreadArgs, ThreadSort, UnmuteArgs,
    WindowArg,
};
use crate::client::AnyClient;
use crate::env::Env;
use crate::progress::Verbosity;
use crate::render::{self, Style};

/// Exit codes, as documented in the README.
mod exit {
    /// The command line is wrong.
    pub(super) const USAGE: u8 = 2;
    /// The input is not a valid upseed record (`EX_DATAERR`).
    pub(super) const INVALID: u8 = 65;
    /// The BitTorrent client did not answer (`EX_UNAVAILABLE`).
    pub(super) const UNREACHABLE: u8 = 69;
    /// The client refused our credentials or banned us (`EX_NOPERM`).
    pub(super) const AUTH: u8 = 77;
    /// The config is missing or wrong (`EX_CONFIG`).
    pub(super) const CONFIG: u8 = 78;
}

/// Writes a line to standard output.
macro_rules! out {
    ($env:expr, $($arg:tt)*) => {
        writeln!($env.out, $($arg)*)?
    };
}

/// Writes a line to standard error.
macro_rules! err {
    ($env:expr, $($arg:tt)*) => {
        writeln!($env.err, $($arg)*)?
    };
}

fn print_record(env: &mut Env, record: &Record) -> Result<()> {
    let kind = match record.kind() {
        Kind::Post => "post",
        Kind::Comment => "comment",
    };
    out!(env, "{kind} {}", record.infohash());
    out!(env, "author    {}", record.author());
    out!(env, "created   {}", render::date(record.created(), now()));
    if let Some(title) = record.title() {
        out!(env, "title     {}", title.as_str());
    }
    if let Some(community) = record.community() {
        out!(env, "community {community}");
    }
    if let (Some(parent), Some(root)) = (record.parent(), record.root()) {
        out!(env, "parent    {parent}");
        out!(env, "root      {root}");
    }
    out!(
        env,
        "file      {} ({} bytes)",
        record.name(),
        record.length()
    );
    match record.body() {
        Some(body) => out!(env, "\n{}", body.as_str()),
        None => out!(env, "body      not checked (pass --body FILE)"),
    }
    Ok(())
}

fn json(env: &mut Env, value: &impl serde::Serialize) -> Result<()> {
    out!(env, "{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

fn read_text(env: &mut Env, text: Option<String>) -> Result<String> {
    match text.as_deref() {
        Some(t) if t != "-" => Ok(t.to_owned()),
        _ => {
            if env.stdin_tty {
                err!(env, "reading the text from standard input; end with Ctrl-D");
            }
            let mut bytes = Vec::new();
            env.stdin
                .read_to_end(&mut bytes)
                .context("cannot read standard input")?;
            String::from_utf8(bytes).map_err(|e| {
                anyhow::anyhow!(
                    "the text is not valid UTF-8 (first bad byte at {}); upseed carries text only",
                    e.utf8_error().valid_up_to()
                )
            })
        }
    }
}

async fn print_posted(
    env: &mut Env,
    node: &Node<AnyClient>,
    posted: &upseed_node::Posted,
    as_json: bool,
) -> Result<()> {
    // Said on standard error, before the result.
    let queued = node.queued(posted.record.infohash()).await;
    let record = &posted.record;
    if as_json {
        json(
            env,
            &crate::json::PostedJson {
                infohash: record.infohash(),
                magnet: posted.magnet.to_string(),
                queued,
                record: record.to_json(),
            },
        )
    } else {
        out!(env, "{}", record.infohash());
        out!(env, "{}", posted.magnet);
        Ok(())
    }
}

/// A usage error found after parsing: exit code 2, as clap's own.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Usage(String);

fn feed_query(args: &FeedArgs) -> Result<FeedQuery, Usage> {
    if args.window.is_some() && !matches!(args.sort, FeedSort::Top) {
        return Err(Usage(
            "--window applies to --sort top only; drop it, or add --sort top".into(),
        ));
    }
    let window = match args.window.unwrap_or(WindowArg::Day) {
        WindowArg::Day => Window::Day,
        WindowArg::Week => Window::Week,
        WindowArg::Month => Window::Month,
        WindowArg::Year => Window::Year,
        WindowArg::All => Window::All,
    };
    let sort = match args.sort {
        FeedSort::Hot => Sort::Hot,
        FeedSort::New => Sort::New,
        FeedSort::Active => Sort::Active,
        FeedSort::Top => Sort::Top(window),
        FeedSort::Best => Sort::Best,
    };
    Ok(FeedQuery {
        sort,
        community: args.community.clone(),
        limit: args.limit,
        timeout: Duration::from_secs(args.timeout),
        show_muted: args.show_muted,
        by: args.by.map(Into::into),
    })
}

async fn thread(env: &mut Env, node: &Node<AnyClient>, args: ThreadArgs) -> Result<()> {
    let sort = match args.sort {
        ThreadSort::Top => upseed_node::ThreadSort::Top,
        ThreadSort::New => upseed_node::ThreadSort::New,
        ThreadSort::Hot => upseed_node::ThreadSort::Hot,
    };
    let thread = node
        .thread(
            &args.reference,
            sort,
            Duration::from_secs(args.timeout),
            args.show_muted,
        )
        .await?;
    if args.json {
        json(env, &thread)
    } else {
        let text = render::thread_text(&thread, now(), Style::detect(env));
        write!(env.out, "{text}")?;
        Ok(())
    }
}

async fn edit(env: &mut Env, node: &Node<AnyClient>, args: EditArgs) -> Result<()> {
    let text = read_text(env, args.text)?;
    let report = node
        .edit(&args.reference, &text, args.title.as_deref())
        .await?;
    print_superseded(env, &report, args.json)
}

fn print_superseded(
    env: &mut Env,
    report: &upseed_node::SupersedeReport,
    as_json: bool,
) -> Result<()> {
    if as_json {
        return json(env, report);
    }
    match report.replacement {
        Some(new) => out!(
            env,
            "edited {} (version {}): readers see the new text, {new}",
            report.target,
            report.seq + 1
        ),
        None => out!(env, "deleted {}: readers show it as deleted", report.target),
    }
    if !report.unseeded.is_empty() {
        out!(
            env,
            "stopped seeding {} older version(s); your files are kept",
            report.unseeded.len()
        );
    }
    Ok(())
}

async fn mute(env: &mut Env, node: &Node<AnyClient>, args: MuteArgs) -> Result<()> {
    let target = node.mute_target(args.kind.into(), &args.value)?;
    let report = node.mute(&target, args.duration, args.include_own).await?;
    if args.json {
        return json(env, &report);
    }
    let what = render::clean(&render::mute_label(report.mute.kind, &report.mute.value));
    let until = match report.mute.until {
        Some(until) => format!(" until {}", render::date(until, now())),
        None => String::new(),
    };
    let again = if report.new { "" } else { " (already muted)" };
    out!(env, "muted {what}{until}{again}");
    if !report.unseeded.is_empty() {
        out!(
            env,
            "stopped seeding {} post(s) or comment(s) it covers",
            report.unseeded.len()
        );
    }
    if !report.kept.is_empty() {
        out!(
            env,
            "still seeding {} of your own or pinned post(s) it covers; pass --include-own to stop",
            report.kept.len()
        );
    }
    Ok(())
}

fn unmute(env: &mut Env, node: &Node<AnyClient>, args: UnmuteArgs) -> Result<()> {
    let target = node.mute_target(args.kind.into(), &args.value)?;
    let report = node.unmute(&target)?;
    if args.json {
        return json(env, &report);
    }
    let what = render::clean(&render::mute_label(report.kind, &report.value));
    if report.removed {
        out!(env, "unmuted {what}");
    } else {
        out!(env, "{what} was not muted");
    }
    Ok(())
}

async fn mutes(env: &mut Env, node: &Node<AnyClient>, args: MutesArgs) -> Result<()> {
    let author = |value: &str| -> Result<upseed_core::PublicKey> {
        match node.mute_target(upseed_core::mute::MuteKind::Author, value)? {
            upseed_core::mute::MuteTarget::Author(key) => Ok(key),
            other => Err(Usage(format!("{} is not an author", other.value())).into()),
        }
    };
    match args.action {
        None => {
            let mutes = node.mutes()?;
            if args.json {
                return json(env, &mutes);
            }
            write!(env.out, "{}", render::clean(&render::mutes_text(&mutes)))?;
        }
        Some(MutesAction::Publish(flag)) => {
            let report = node.publish_mutes().await?;
            if flag.json {
                return json(env, &report);
            }
            write!(env.out, "{}", render::mute_list_text(&report))?;
        }
        Some(MutesAction::Unpublish(flag)) => {
            let report = node.unpublish_mutes().await?;
            if flag.json {
                return json(env, &report);
            }
            write!(env.out, "{}", render::mute_list_text(&report))?;
        }
        Some(MutesAction::Subscribe(args)) => {
            let report = node.subscribe_mutes(author(&args.author)?).await?;
            if args.json {
                return json(env, &report);
            }
            write!(
                env.out,
                "{}",
                render::clean(&render::subscribed_text(&report))
            )?;
        }
        Some(MutesAction::Unsubscribe(args)) => {
            let report = node.unsubscribe_mutes(author(&args.author)?)?;
            if args.json {
                return json(env, &report);
            }
            if report.removed {
                out!(env, "unsubscribed from the mute list of {}", report.author);
            } else {
                out!(
                    env,
                    "you were not subscribed to the mute list of {}",
                    report.author
                );
            }
        }
    }
    Ok(())
}

async fn post(env: &mut Env, node: &Node<AnyClient>, args: PostArgs) -> Result<()> {
    node.identity()?;
    let text = read_text(env, args.text)?;
    let posted = node
        .post(&PostInput {
            text,
            title: args.title,
            community: args.community,
        })
        .await?;
    print_posted(env, node, &posted, args.json).await
}

/// Whether a command needs a config: the others read it when there is
/// one, and refuse it the same way when it is wrong.
fn needs_config(command: &Command) -> bool {
    !matches!(
        command,
        Command::Show(_)
            | Command::Pin(_)
            | Command::Unpin(_)
            | Command::Feed(_)
            | Command::Thread(_)
            | Command::Search(_)
            | Command::Export(_)
            | Command::Mute(_)
            | Command::Unmute(_)
            | Command::Mutes(MutesArgs { action: None, .. })
    ) && !ignores_config(command)
}

/// Whether a command never reads the config.
fn ignores_config(command: &Command) -> bool {
    matches!(
        command,
        Command::Init(_)
            | Command::Key(_)
            | Command::Inspect { .. }
            | Command::Completions { .. }
            | Command::Man
    )
}

/// Runs one parsed command in `env`.
async fn run(env: &mut Env, cli: Cli) -> Result<()> {
    let home = Home::locate(cli.config.as_deref(), &env.vars)?;
    let json_out = match &cli.command {
        Command::Show(a) => a.json,
        Command::Sync(a) => a.json,
        Command::Gc(a) => a.json,
        Command::Feed(a) => a.json,
        Command::Thread(a) => a.json,
        Command::Search(a) => a.json,
        Command::Export(a) => a.json,
        Command::Ingest(a) => a.json,
        Command::Post(a) => a.json,
        Command::Edit(a) => a.json,
        Command::Delete(a) => a.json,
        Command::Comment(a) => a.json,
        Command::Upvote(a) => a.json,
        Command::Doctor(a) => a.json,
        Command::Status(a) => a.json,
        _ => false,
    };
    let verbosity = Verbosity::from_flags(cli.verbose, cli.quiet);
    if verbosity != Verbosity::Quiet && !ignores_config(&cli.command) {
        for unknown in upseed_node::settings::unknown_vars(&env.vars) {
            err!(env, "warning: {}", render::clean(&unknown.to_string()));
        }
    }
    if verbosity == Verbosity::Verbose {
        crate::daemon::init_logging(crate::daemon::LogFormat::Text, tracing::Level::DEBUG);
    }
    // `daemon` and `serve` hold the embedded engine, when the config names it.
    let held = match &cli.command {
        Command::Daemon(_) | Command::Serve(_) if env.client.is_none() => {
            let config = upseed_node::Config::load(&home.config, &env.vars)?;
            crate::engine::hold(&config, &home)
                .await?
                .map(std::sync::Arc::new)
        }
        _ => None,
    };
    let node = crate::client::node_holding(env, &home, held.clone()).with_events(
        crate::progress::events(env.err.clone(), env.err_tty && !json_out, verbosity),
    );
    if needs_config(&cli.command) || (!ignores_config(&cli.command) && home.config.exists()) {
        node.config()?;
    }
    match cli.command {
        Command::Init(args) => crate::init::init(env, &home, *args).await?,
        Command::Post(args) => post(env, &node, args).await?,
        Command::Comment(args) => {
            node.identity()?;
            let text = read_text(env, args.text)?;
            let posted = node.comment(&args.reference, &text).await?;
            print_posted(env, &node, &posted, args.json).await?;
        }
        Command::Upvote(args) => {
            let (hash, how) = node
                .upvote(&args.reference, Duration::from_secs(args.timeout))
                .await?;
            let queued = node.queued(hash).await;
            let seeds = if queued {
                "your client holds it, but queued (see the warning above)"
            } else {
                "your client seeds it"
            };
            if args.json {
                use crate::json::How;
                let how = match how {
                    Upvoted::FromStore => How::FromStore,
                    Upvoted::Downloaded => How::Downloaded,
                    Upvoted::Authored => How::Authored,
                };
                json(
                    env,
                    &crate::json::UpvoteJson {
                        infohash: hash,
                        how,
                        queued,
                    },
                )?;
            } else {
                match how {
                    Upvoted::Authored => out!(env, "{hash}: you wrote it, and {seeds}"),
                    Upvoted::FromStore | Upvoted::Downloaded => {
                        out!(env, "upvoted {hash}: {seeds}");
                    }
                }
            }
        }
        Command::Unvote(args) => {
            let hash = node.unvote(&args.reference, args.force).await?;
            if args.json {
                json(env, &crate::json::UnvoteJson { infohash: hash })?;
            } else {
                out!(env, "unvoted {hash}: your client no longer seeds it");
            }
        }
        Command::Show(args) => {
            let record = node
                .show(&args.reference, Duration::from_secs(args.timeout))
                .await?;
            if args.json {
                json(env, &record.to_json())?;
            } else {
                print_record(env, &record)?;
            }
        }
        Command::Sync(args) => {
            let report = node
                .sync(&SyncOptions {
                    fetch_limit: args.fetch_limit,
                    fetch_timeout: Duration::from_secs(args.timeout),
                    scrape_timeout: Duration::from_secs(5),
                })
                .await?;
            if args.json {
                json(env, &report)?;
            } else {
                write!(env.out, "{}", render::clean(&render::sync_text(&report)))?;
            }
        }
        Command::Doctor(args) => {
            let checks = node.doctor().await?;
            let failed = checks
                .iter()
                .filter(|c| c.outcome == upseed_node::doctor::Outcome::Fail)
                .count();
            if args.json {
                json(env, &crate::json::DoctorJson { checks, failed })?;
            } else {
                write!(env.out, "{}", render::clean(&render::doctor_text(&checks)))?;
            }
            if failed > 0 {
                anyhow::bail!("{failed} check(s) failed; apply the fixes above");
            }
        }
        Command::Gc(args) => {
            let report = node
                .gc(GcOptions {
                    dry_run: args.dry_run,
                    include_authored: args.authored,
                })
                .await?;
            if args.json {
                json(env, &report)?;
            } else {
                write!(env.out, "{}", render::gc_text(&report))?;
            }
        }
        Command::Daemon(args) => {
            use crate::daemon::{LogFormat, init_logging, signals};
            init_logging(
                if args.log_json {
                    LogFormat::Json
                } else {
                    LogFormat::Text
                },
                verbosity.log_level(),
            );
            node.client()?;
            node.daemon(signals()?).await?;
        }
        Command::Status(args) => {
            let status = node.status()?;
            if args.json {
                json(env, &status)?;
            } else {
                write!(env.out, "{}", render::clean(&render::status_text(&status)))?;
            }
        }
        Command::Follow(args) => follow(env, &node, &args.key, true, args.json).await?,
        Command::Unfollow(args) => follow(env, &node, &args.key, false, args.json).await?,
        Command::Profile(args) => {
            let outbox = node.profile(args.name, args.about).await?;
            if args.json {
                json(
                    env,
                    &crate::json::ProfileJson {
                        name: outbox.name,
                        about: outbox.about,
                    },
                )?;
            } else {
                out!(
                    env,
                    "{}",
                    render::clean(&format!(
                        "profile: {} / {}",
                        outbox.name.as_deref().unwrap_or("(no name)"),
                        outbox.about.as_deref().unwrap_or("(no about)")
                    ))
                );
            }
        }
        Command::Pin(args) => {
            let (hash, changed) = node.pin(&args.reference, true)?;
            if args.json {
                json(
                    env,
                    &crate::json::PinJson {
                        infohash: hash,
                        pinned: true,
                        changed,
                    },
                )?;
            } else {
                out!(env, "pinned {hash}: gc keeps it");
            }
        }
        Command::Unpin(args) => {
            let (hash, changed) = node.pin(&args.reference, false)?;
            if args.json {
                json(
                    env,
                    &crate::json::PinJson {
                        infohash: hash,
                        pinned: false,
                        changed,
                    },
                )?;
            } else if changed {
                out!(env, "unpinned {hash}");
            } else {
                out!(env, "{hash} was not pinned");
            }
        }
        Command::Feed(args) => {
            let feed = node.feed(&feed_query(&args)?).await?;
            if args.json {
                json(env, &feed)?;
            } else {
                let text = render::feed_text(&feed, Style::detect(env));
                write!(env.out, "{text}")?;
            }
        }
        Command::Thread(args) => thread(env, &node, args).await?,
        Command::Mute(args) => mute(env, &node, args).await?,
        Command::Edit(args) => edit(env, &node, args).await?,
        Command::Delete(args) => {
            let report = node.delete(&args.reference).await?;
            print_superseded(env, &report, args.json)?;
        }
        Command::Unmute(args) => unmute(env, &node, args)?,
        Command::Mutes(args) => mutes(env, &node, args).await?,
        Command::Ingest(args) => ingest(env, &node, args).await?,
        Command::Search(args) => {
            let order = match args.order {
                SearchOrderArg::New => SearchOrder::New,
                SearchOrderArg::Relevance => SearchOrder::Relevance,
            };
            let page = (args.limit, args.offset);
            let found = node.search(&args.query.join(" "), order, page, args.show_muted)?;
            if args.json {
                json(env, &found)?;
            } else {
                let text = render::search_text(&found, now(), Style::detect(env));
                write!(env.out, "{text}")?;
            }
        }
        Command::Key(KeyCommand::New { key, json: as_json }) => {
            let path = key.unwrap_or_else(|| home.identity.clone());
            let secret = SecretKey::generate()?;
            keyfile::create(&path, &secret)?;
            print_key(env, &secret, path.clone(), as_json)?;
            err!(
                env,
                "saved your secret key to {} (mode 0600); back it up",
                path.display()
            );
        }
        Command::Key(KeyCommand::Show { key, json: as_json }) => {
            let path = key.unwrap_or_else(|| home.identity.clone());
            let secret = keyfile::load(&path)?;
            print_key(env, &secret, path, as_json)?;
        }
        Command::Inspect {
            torrent,
            body,
            json: as_json,
        } => inspect(env, &torrent, body, as_json)?,
        Command::Export(args) => {
            let exported = node
                .export(
                    &args.reference,
                    &args.dir,
                    Duration::from_secs(args.timeout),
                )
                .await?;
            if args.json {
                json(
                    env,
                    &crate::json::ExportJson {
                        infohash: exported.record.infohash(),
                        torrent: exported.torrent,
                        body: exported.body,
                    },
                )?;
            } else {
                out!(env, "{}", exported.torrent.display());
                out!(env, "{}", exported.body.display());
            }
        }
        Command::Serve(args) => {
            use crate::daemon::{LogFormat, init_logging, signals};
            init_logging(LogFormat::Text, verbosity.log_level());
            let guard = crate::serve::Guard::for_listening(
                args.listen,
                &env.vars,
                args.password_file.as_deref(),
            )?;
            let node = std::sync::Arc::new(node);
            let stop = signals()?;
            let app = crate::serve::App::new(node.clone(), guard);
            if args.no_daemon {
                crate::serve::listen(app, args.listen, stop).await?;
            } else {
                node.client()?;
                let (served, ran) = tokio::join!(
                    crate::serve::listen(app, args.listen, stop.clone()),
                    node.daemon(stop)
                );
                served?;
                ran?;
            }
        }
        Command::Config(ConfigCommand::Show { json: as_json }) => {
            crate::config::show(env, &home, as_json)?;
        }
        Command::Completions { shell } => {
            let mut command = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut command, "upseed", &mut env.out);
        }
        Command::Man => {
            let command = <Cli as clap::CommandFactory>::command();
            clap_mangen::Man::new(command).render(&mut env.out)?;
        }
    }
    crate::engine::release(held.as_deref()).await;
    Ok(())
}

fn print_key(env: &mut Env, secret: &SecretKey, file: PathBuf, as_json: bool) -> Result<()> {
    let public = secret.public_key();
    if as_json {
        json(
            env,
            &crate::json::KeyJson {
                hex: hex_key(&public),
                public_key: public,
                file,
            },
        )
    } else {
        out!(env, "{public}");
        Ok(())
    }
}

fn hex_key(key: &upseed_core::PublicKey) -> String {
    key.as_bytes().iter().map(|b| format!("{b:02x}")).collect()
}

async fn follow(
    env: &mut Env,
    node: &Node<AnyClient>,
    key: &str,
    on: bool,
    as_json: bool,
) -> Result<()> {
    let key: upseed_core::PublicKey = key.parse()?;
    let changed = node.follow(key, on).await?;
    if as_json {
        return json(
            env,
            &crate::json::FollowJson {
                key,
                following: on,
                changed,
            },
        );
    }
    match (on, changed) {
        (true, true) => out!(env, "following {key}; `upseed sync` fetches their posts"),
        (true, false) => out!(env, "already following {key}"),
        (false, true) => out!(env, "no longer following {key}"),
        (false, false) => out!(env, "you were not following {key}"),
    }
    Ok(())
}

async fn ingest(env: &mut Env, node: &Node<AnyClient>, args: IngestArgs) -> Result<()> {
    use upseed_node::ingest::Ingested;
    if args.install {
        let program = std::env::current_exe().context("cannot find this upseed's own path")?;
        let hook = node.install_hook(&program, args.replace).await?;
        if args.json {
            return json(env, &crate::json::HookJson { hook, program });
        }
        out!(
            env,
            "wrote {} and set your client to run it when a torrent finishes: posts you open in the client's own window now count as upvotes",
            hook.display()
        );
        return Ok(());
    }
    let text = args
        .infohash
        .or_else(|| env.vars.get("TR_TORRENT_HASH"))
        .ok_or(Usage("give the torrent's infohash".into()))?;
    let hash: upseed_core::InfoHash = text
        .parse()
        .map_err(|_| Usage(format!("`{text}` is not a 40-digit infohash")))?;
    let ingested = node.ingest(hash).await?;
    if let Ingested::NotHeld(hash) = ingested {
        anyhow::bail!("your client does not hold {hash}; check the infohash");
    }
    let (outcome, reason, record) = match &ingested {
        Ingested::Claimed(record) => ("claimed", None, Some(record.to_json())),
        Ingested::AlreadyOurs(_) => ("already_ours", None, None),
        Ingested::NotARecord { reason, .. } => ("not_a_record", Some(reason.clone()), None),
        Ingested::Incomplete(_) | Ingested::NotHeld(_) => ("incomplete", None, None),
    };
    if args.json {
        return json(
            env,
            &crate::json::IngestJson {
                infohash: hash,
                outcome: outcome.to_owned(),
                reason,
                record,
            },
        );
    }
    match ingested {
        Ingested::Claimed(record) => out!(
            env,
            "upvoted {hash} ({}): your client seeds it for upseed now",
            render::clean(&render::headline(&record.to_json(), 60))
        ),
        Ingested::AlreadyOurs(_) => out!(env, "{hash} is upseed's already"),
        Ingested::NotARecord { reason, .. } => out!(
            env,
            "{hash} is not an upseed post or comment ({}); left as it was",
            render::clean(&reason)
        ),
        Ingested::Incomplete(_) | Ingested::NotHeld(_) => out!(
            env,
            "{hash} has not finished downloading; the client runs the hook again when it has"
        ),
    }
    Ok(())
}

fn inspect(
    env: &mut Env,
    torrent: &std::path::Path,
    body: Option<PathBuf>,
    as_json: bool,
) -> Result<()> {
    let bytes = upseed_node::files::read_regular(torrent, upseed_core::MAX_TORRENT_LEN as u64)
        .with_context(|| format!("cannot read {}", torrent.display()))?;
    let mut record = Torrent::parse(&bytes, now())
        .with_context(|| format!("{} is not a valid upseed record", torrent.display()))?
        .record;
    if let Some(path) = body {
        let cap = upseed_core::text::MAX_POST_BODY as u64;
        let text = upseed_node::files::read_regular(&path, cap)
            .with_context(|| format!("cannot read {}", path.display()))?;
        record = record
            .with_body(&text)
            .with_context(|| format!("{} does not match the record", path.display()))?;
    }
    if as_json {
        json(env, &record.to_json())
    } else {
        print_record(env, &record)
    }
}

fn exit_code(error: &anyhow::Error) -> u8 {
    let client_code = |client: &ClientError| match client {
        ClientError::Unreachable { .. } | ClientError::NotRunning { .. } => exit::UNREACHABLE,
        ClientError::Unauthorized { .. } | ClientError::Banned { .. } => exit::AUTH,
        ClientError::WrongUrl { .. } => exit::CONFIG,
        _ => 1,
    };
    for cause in error.chain() {
        if let Some(node) = cause.downcast_ref::<Error>() {
            if node.is_invalid_record() {
                return exit::INVALID;
            }
            if let Some(client) = node.client() {
                return client_code(client);
            }
            if matches!(node, Error::Config(_)) {
                return exit::CONFIG;
            }
            if matches!(
                node,
                Error::Search(_)
                    | Error::Mute(_)
                    | Error::NotYours(_)
                    | Error::Deleted(_)
                    | Error::NotTheFirstVersion { .. }
                    | Error::NoAuthorNamed(_)
                    | Error::AmbiguousName { .. }
                    | Error::OwnMuteList(_)
            ) {
                return exit::USAGE;
            }
        }
        if cause.is::<VerifyError>() {
            return exit::INVALID;
        }
        if let Some(client) = cause.downcast_ref::<ClientError>() {
            return client_code(client);
        }
        if cause.is::<upseed_node::ConfigError>() {
            return exit::CONFIG;
        }
        #[cfg(feature = "embedded")]
        if cause.is::<upseed_embedded::EngineError>() {
            return exit::CONFIG;
        }
        if cause.is::<Usage>() {
            return exit::USAGE;
        }
    }
    1
}

/// Runs `cli` in `env` on a fresh runtime; returns the exit code. Errors
/// go to `env`'s standard error.
fn run_cli(env: &mut Env, cli: Cli) -> u8 {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            let _ = writeln!(env.err, "error: cannot start: {error}");
            return 1;
        }
    };
    match runtime.block_on(run(env, cli)) {
        Ok(()) => 0,
        Err(error) => {
            let _ = writeln!(env.err, "error: {}", render::clean(&format!("{error:#}")));
            exit_code(&error)
        }
    }
}

/// Runs the command line `args` (the program name first) in `env`, as the
/// binary would, and returns its exit code: how tests run a command
/// in-process. Usage errors and `--help` are printed to `env` too.
pub fn run_in(env: &mut Env, args: impl IntoIterator<Item = impl Into<OsString> + Clone>) -> u8 {
    match Cli::try_parse_from(args) {
        Ok(cli) => run_cli(env, cli),
        Err(error) => {
            let text = error.render().to_string();
            let _ = if error.use_stderr() {
                write!(env.err, "{text}")
            } else {
                write!(env.out, "{text}")
            };
            u8::try_from(error.exit_code()).unwrap_or(2)
        }
    }
}

/// Runs the command line and returns its exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    ExitCode::from(run_cli(&mut Env::process(), cli))
}
