//! Argument parsing, dispatch, output and exit codes.

use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};
use upseed_core::rank::{Sort, Window};
use upseed_core::{
    AddTorrent, ClientError, CommentDraft, InfoHash, Kind, Magnet, PostDraft, Record, SecretKey,
    Torrent, TorrentClient, VerifyError,
};

use crate::client::AnyClient;
use crate::config::{self, Config, Home};
use crate::dht::Dht;
use crate::fetch::{Fetch, FetchError};
use crate::keyfile;
use crate::progress::Progress;
use crate::render::{self, Style};
use crate::store::{Store, Vote};
use crate::vote;

/// Exit codes, as documented in the README.
mod exit {
    /// The input is not a valid upseed record (`EX_DATAERR`).
    pub(super) const INVALID: u8 = 65;
    /// The BitTorrent client did not answer (`EX_UNAVAILABLE`).
    pub(super) const UNREACHABLE: u8 = 69;
    /// The client refused our credentials or banned us (`EX_NOPERM`).
    pub(super) const AUTH: u8 = 77;
    /// The config is missing or wrong (`EX_CONFIG`).
    pub(super) const CONFIG: u8 = 78;
}

/// Marks an error as a config problem, for the exit code.
#[derive(Debug)]
struct ConfigProblem;

impl std::fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("configuration problem")
    }
}

/// A text-only social network on the BitTorrent client you already run.
#[derive(Debug, Parser)]
#[command(name = "upseed", version, about, max_term_width = 100)]
struct Cli {
    /// The config file; the identity and store sit beside it
    /// [default: $UPSEED_HOME/config.toml, else ~/.config/upseed/config.toml].
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create your identity and a commented config.
    Init(Box<InitArgs>),
    /// Publish a post: sign it, write its text, and have your client seed it.
    Post(PostArgs),
    /// Comment on a post or comment you know: sign it and have your client seed it.
    Comment(CommentArgs),
    /// Seed a post or comment: your client downloads it if needed and keeps seeding it.
    Upvote(VoteArgs),
    /// Stop seeding a post or comment, and remove it from your client.
    Unvote(UnvoteArgs),
    /// Fetch a post or comment through your client if needed, verify it, and print it.
    Show(ShowArgs),
    /// Refresh swarm counts from your client and trackers, and fetch posts
    /// and comments the trackers list that you do not have yet.
    Sync(SyncArgs),
    /// Check the config, the client, the folders and the trackers, and say how to fix what fails.
    Doctor(DoctorArgs),
    /// Apply the retention policy: delete long-faded threads from the store, and stop
    /// seeding what [seeding] leaves out. Your own posts stay unless you pass --authored.
    Gc(GcArgs),
    /// Run unattended: refresh counts, apply the seeding rules and the retention
    /// policy on the schedule in [daemon], until SIGTERM or SIGINT.
    Daemon(DaemonArgs),
    /// What the daemon last did and will do next, read from the store.
    Status(StatusArgs),
    /// Follow an author: `sync` fetches what their outbox on the DHT names.
    Follow(FollowArgs),
    /// Stop following an author.
    Unfollow(FollowArgs),
    /// Set the display name and about text your outbox publishes.
    Profile(ProfileArgs),
    /// Keep a post or comment whatever the retention policy says: gc never stops
    /// seeding it or deletes its thread.
    Pin(PinArgs),
    /// Undo `pin`.
    Unpin(PinArgs),
    /// Ranked posts from your store.
    Feed(FeedArgs),
    /// A post and its comment tree.
    Thread(ThreadArgs),
    /// Create or show your identity (an ed25519 key pair).
    #[command(subcommand)]
    Key(KeyCommand),
    /// Verify a post or comment torrent and print it.
    Inspect {
        /// The .torrent file.
        torrent: PathBuf,
        /// The body file, to check it against the signed hash and pieces.
        #[arg(long)]
        body: Option<PathBuf>,
        /// Print one JSON document (schema: docs/schema/record.schema.json).
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
struct InitArgs {
    /// The client: `qbittorrent` or `transmission`.
    #[arg(long, value_name = "KIND")]
    client: Option<String>,
    /// Its Web UI URL (qBittorrent) or RPC URL (Transmission).
    #[arg(long)]
    url: Option<url::Url>,
    /// The client user name.
    #[arg(long)]
    username: Option<String>,
    /// A file holding the client password (mode 0600); or set UPSEED_CLIENT_PASSWORD.
    #[arg(long, value_name = "FILE")]
    password_file: Option<PathBuf>,
    /// Where upseed writes your posts' text [default: beside the config, posts/].
    #[arg(long, value_name = "DIR")]
    posts_dir: Option<PathBuf>,
    /// Where your client saves what you read and upvote [default: beside the config, downloads/].
    #[arg(long, value_name = "DIR")]
    downloads_dir: Option<PathBuf>,
    /// A tracker announce URL; repeat for several.
    #[arg(long = "tracker", value_name = "URL")]
    trackers: Vec<String>,
    /// The qBittorrent category or Transmission label for upseed's torrents.
    #[arg(long, default_value = "upseed")]
    category: String,
    /// Path prefix as upseed sees it, when the client sees it elsewhere.
    #[arg(long, value_name = "DIR", requires = "path_remote")]
    path_local: Option<PathBuf>,
    /// The same prefix as the client sees it.
    #[arg(long, value_name = "DIR", requires = "path_local")]
    path_remote: Option<String>,
    /// Replace an existing config (the identity is always kept).
    #[arg(long)]
    force: bool,
}

#[derive(Debug, Args)]
struct PostArgs {
    /// A one-line title.
    #[arg(long)]
    title: Option<String>,
    /// The community to post in.
    #[arg(long)]
    community: Option<String>,
    /// The text; `-` or nothing reads it from standard input.
    text: Option<String>,
    /// Print one JSON document.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct CommentArgs {
    /// What to answer: an infohash, a unique prefix of one, or a magnet link.
    reference: String,
    /// The text; `-` or nothing reads it from standard input.
    text: Option<String>,
    /// Print one JSON document.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct VoteArgs {
    /// An infohash, a unique prefix of one, or a magnet link.
    reference: String,
    /// Give up downloading after this many seconds.
    #[arg(long, default_value_t = 120, value_name = "SECONDS")]
    timeout: u64,
}

#[derive(Debug, Args)]
struct UnvoteArgs {
    /// An infohash, a unique prefix of one, or a magnet link.
    reference: String,
    /// Also stop seeding a post or comment you wrote (its file is kept).
    #[arg(long)]
    force: bool,
}

#[derive(Debug, Args)]
struct ShowArgs {
    /// An infohash, a unique prefix of one, or a magnet link.
    reference: String,
    /// Give up fetching after this many seconds.
    #[arg(long, default_value_t = 120, value_name = "SECONDS")]
    timeout: u64,
    /// Print one JSON document (schema: docs/schema/record.schema.json).
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct SyncArgs {
    /// Fetch at most this many newly discovered posts and comments.
    #[arg(long, default_value_t = 50, value_name = "N")]
    fetch_limit: usize,
    /// Give up on fetches after this many seconds.
    #[arg(long, default_value_t = 120, value_name = "SECONDS")]
    timeout: u64,
    /// Print one JSON document (schema: docs/schema/sync.schema.json).
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct GcArgs {
    /// List what would go, and change nothing.
    #[arg(long)]
    dry_run: bool,
    /// Let [seeding] limits stop seeding your own posts and comments too (their files are kept).
    #[arg(long)]
    authored: bool,
    /// Print one JSON document (schema: docs/schema/gc.schema.json).
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct DaemonArgs {
    /// Log one JSON object per line instead of text.
    #[arg(long)]
    log_json: bool,
}

#[derive(Debug, Args)]
struct StatusArgs {
    /// Print one JSON document (schema: docs/schema/status.schema.json).
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct FollowArgs {
    /// Their public key, as `upseed key show` prints it (z-base-32 or hex).
    key: String,
}

#[derive(Debug, Args)]
struct ProfileArgs {
    /// A display name (at most 64 bytes); an empty one clears it.
    #[arg(long)]
    name: Option<String>,
    /// A few words about you (at most 280 bytes); an empty text clears it.
    #[arg(long)]
    about: Option<String>,
}

#[derive(Debug, Args)]
struct PinArgs {
    /// A stored post or comment: an infohash, a unique prefix of one, or a magnet link.
    reference: String,
}

#[derive(Debug, Args)]
struct DoctorArgs {
    /// Print one JSON document (schema: docs/schema/doctor.schema.json).
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum FeedSort {
    Hot,
    New,
    Active,
    Top,
    /// The share of readers who keep seeding (Wilson lower bound).
    Best,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum WindowArg {
    Day,
    Week,
    Month,
    Year,
    All,
}

#[derive(Debug, Args)]
struct FeedArgs {
    /// The order.
    #[arg(long, value_enum, default_value = "hot")]
    sort: FeedSort,
    /// The window for `--sort top`.
    #[arg(long, value_enum, default_value = "day")]
    window: WindowArg,
    /// Only this community.
    #[arg(long)]
    community: Option<String>,
    /// At most this many posts.
    #[arg(long, default_value_t = 25)]
    limit: usize,
    /// Print one JSON document (schema: docs/schema/feed.schema.json).
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum ThreadSort {
    Top,
    New,
    Hot,
}

#[derive(Debug, Args)]
struct ThreadArgs {
    /// The post (or any comment in its thread): an infohash, a unique prefix, or a magnet link.
    reference: String,
    /// The order of comments under the same parent.
    #[arg(long, value_enum, default_value = "top")]
    sort: ThreadSort,
    /// Print one JSON document (schema: docs/schema/thread.schema.json).
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Subcommand)]
enum KeyCommand {
    /// Create a new identity. Refuses to overwrite an existing one.
    New {
        /// Where the secret key goes [default: beside the config, identity.key].
        #[arg(long, value_name = "PATH")]
        key: Option<PathBuf>,
    },
    /// Print the public key to share with others.
    Show {
        /// The secret key file [default: beside the config, identity.key].
        #[arg(long, value_name = "PATH")]
        key: Option<PathBuf>,
    },
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn print_record(record: &Record) {
    let kind = match record.kind() {
        Kind::Post => "post",
        Kind::Comment => "comment",
    };
    println!("{kind} {}", record.infohash());
    println!("author    {}", record.author());
    println!("created   {} (unix seconds)", record.created());
    if let Some(title) = record.title() {
        println!("title     {}", title.as_str());
    }
    if let Some(community) = record.community() {
        println!("community {community}");
    }
    if let (Some(parent), Some(root)) = (record.parent(), record.root()) {
        println!("parent    {parent}");
        println!("root      {root}");
    }
    println!("file      {} ({} bytes)", record.name(), record.length());
    match record.body() {
        Some(body) => println!("\n{}", body.as_str()),
        None => println!("body      not checked (pass --body FILE)"),
    }
}

/// Asks on a terminal, or fails naming the flag when there is none.
fn ask(question: &str, default: Option<&str>, flag: &str) -> Result<String> {
    if !std::io::stdin().is_terminal() {
        return match default {
            Some(d) => Ok(d.to_owned()),
            None => bail!("{flag} is required when standard input is not a terminal"),
        };
    }
    let mut err = std::io::stderr();
    match default {
        Some(d) => write!(err, "{question} [{d}]: ")?,
        None => write!(err, "{question}: ")?,
    }
    err.flush()?;
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer)?;
    let answer = answer.trim();
    match (answer.is_empty(), default) {
        (false, _) => Ok(answer.to_owned()),
        (true, Some(d)) => Ok(d.to_owned()),
        (true, None) => bail!("{flag} is required"),
    }
}

fn init(home: &Home, args: InitArgs) -> Result<()> {
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
        None => ask("Its URL", Some(default_url), "--url")?
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
        eprintln!("keeping your identity {}", key.public_key());
    } else {
        let key = SecretKey::generate()?;
        keyfile::create(&home.identity, &key)?;
        eprintln!(
            "created your identity {} in {} (mode 0600); back it up",
            key.public_key(),
            home.identity.display()
        );
    }
    let tmp = home.config.with_extension("toml.tmp");
    std::fs::write(&tmp, config::template(&config))
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, &home.config)
        .with_context(|| format!("cannot write {}", home.config.display()))?;
    eprintln!("wrote {}", home.config.display());
    Ok(())
}

fn read_text(text: Option<String>) -> Result<String> {
    match text.as_deref() {
        Some(t) if t != "-" => Ok(t.to_owned()),
        _ => {
            if std::io::stdin().is_terminal() {
                eprintln!("reading the text from standard input; end with Ctrl-D");
            }
            let mut bytes = Vec::new();
            std::io::stdin()
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

/// Writes a record's body where the client will seed it from, dated two
/// seconds back so that Transmission 4's fast check trusts it.
pub(crate) fn write_body(dir: &Path, record: &Record) -> Result<()> {
    let body = record.body().context("a signed record has its body")?;
    write_file(dir, record.name(), body.as_bytes())
}

/// Writes `bytes` to `dir/name` through a temporary file, dated 2 s back
/// so that a client checking it sees a settled file.
pub(crate) fn write_file(dir: &Path, name: &str, bytes: &[u8]) -> Result<()> {
    let path = dir.join(name);
    let tmp = dir.join(format!(".{name}.tmp"));
    std::fs::write(&tmp, bytes).with_context(|| {
        format!(
            "cannot write {}; check that the posts folder is writable",
            tmp.display()
        )
    })?;
    let file = std::fs::File::options().write(true).open(&tmp)?;
    file.set_modified(SystemTime::now() - Duration::from_secs(2))?;
    file.sync_all()?;
    std::fs::rename(&tmp, &path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

async fn post(home: &Home, config: &Config, args: PostArgs) -> Result<()> {
    let key = keyfile::load(&home.identity)?;
    let text = read_text(args.text)?;
    let mut draft = PostDraft::new(&text)?;
    if let Some(title) = &args.title {
        draft = draft.title(title)?;
    }
    if let Some(community) = &args.community {
        draft = draft.community(community)?;
    }
    let record = draft.sign(&key, now())?;
    publish(home, config, &record, "upseed-post", args.json).await
}

/// Joins the DHT when `[dht]` enables it; a failure is a warning, since
/// every command works without it.
async fn join_dht(config: &Config) -> Option<Dht> {
    Dht::join(&config.dht).await.unwrap_or_else(|e| {
        eprintln!("warning: {e}");
        None
    })
}

/// An infohash, a unique prefix of one (6+ hex digits), or a magnet link,
/// among the records in the store.
fn resolve(store: &Store, reference: &str) -> Result<InfoHash> {
    let reference = reference.trim();
    if reference.starts_with("magnet:") {
        return Ok(reference.parse::<Magnet>()?.infohash);
    }
    if let Ok(hash) = reference.parse::<InfoHash>() {
        return Ok(hash);
    }
    if reference.len() < 6 || !reference.chars().all(|c| c.is_ascii_hexdigit()) {
        bail!(
            "`{reference}` is not an infohash, a prefix of 6 or more hex digits, or a magnet link"
        );
    }
    match store.find_prefix(reference, 2)?.as_slice() {
        [hash] => Ok(*hash),
        [] => bail!("no known post or comment starts with `{reference}`"),
        _ => bail!("`{reference}` matches several records; give more digits"),
    }
}

async fn publish(
    home: &Home,
    config: &Config,
    record: &Record,
    tag: &str,
    json: bool,
) -> Result<()> {
    write_body(&config.posts.dir, record)?;
    let client = AnyClient::from_config(config)?;
    let add = AddTorrent::from_torrent(
        record.torrent_bytes(&config.trackers.urls),
        config.client_path(&config.posts.dir),
    )?
    .with_tags([tag])
    .with_data_present();
    client.add(&[add]).await?;
    let mut store = Store::open(&home.store)?;
    store.put_record(record, now())?;
    store.set_vote(record.infohash(), Vote::Authored, now())?;
    if let Some(dht) = join_dht(config).await {
        let key = keyfile::load(&home.identity)?;
        let me = crate::discover::Me {
            key: &key,
            config,
            client: &client,
        };
        match crate::discover::announce(&dht, &mut store, &me, record, now()).await {
            Ok(published) => warn_index(&published),
            Err(e) => eprintln!(
                "warning: not announced on the DHT: {e:#}; `upseed sync` publishes your outbox again"
            ),
        }
    }
    let magnet = Magnet::for_record(record, &config.trackers.urls);
    if json {
        let out = serde_json::json!({ "infohash": record.infohash(), "magnet": magnet.to_string(), "record": record.to_json() });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        println!("{}", record.infohash());
        println!("{magnet}");
    }
    Ok(())
}

async fn comment(home: &Home, config: &Config, args: CommentArgs) -> Result<()> {
    let key = keyfile::load(&home.identity)?;
    let parent = {
        let store = Store::open(&home.store)?;
        render::known(&store, resolve(&store, &args.reference)?)?
    };
    let text = read_text(args.text)?;
    let record = CommentDraft::reply_to(&text, &parent)?.sign(&key, now())?;
    publish(home, config, &record, "upseed-comment", args.json).await
}

async fn show(home: &Home, args: ShowArgs) -> Result<()> {
    let mut store = Store::open(&home.store)?;
    let hash = resolve(&store, &args.reference)?;
    let record = match store.record(hash)?.filter(|r| r.body().is_some()) {
        Some(record) => record,
        None => {
            let config = Config::load(&home.config).context(ConfigProblem)?;
            let client = AnyClient::from_config(&config)?;
            let fetch = Fetch {
                client: &client,
                config: &config,
                keep: false,
                timeout: Duration::from_secs(args.timeout),
                now: now(),
                progress: Progress::new(!args.json),
            };
            let record = match fetch.one(hash).await {
                Ok(record) => record,
                Err(error) => {
                    if error.is_foreign() {
                        store.put_foreign(hash, &error.to_string(), now())?;
                    }
                    return Err(error.into());
                }
            };
            store.put_record(&record, now())?;
            record
        }
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&record.to_json())?);
    } else {
        print_record(&record);
    }
    Ok(())
}

async fn upvote(home: &Home, config: &Config, args: VoteArgs) -> Result<()> {
    let mut store = Store::open(&home.store)?;
    let hash = resolve(&store, &args.reference)?;
    let client = AnyClient::from_config(config)?;
    let how = vote::upvote(
        &mut store,
        config,
        &client,
        hash,
        Duration::from_secs(args.timeout),
        now(),
        "user",
    )
    .await?;
    republish(home, config, &mut store).await?;
    match how {
        vote::Upvoted::Authored => println!("{hash}: you wrote it, and your client seeds it"),
        vote::Upvoted::FromStore | vote::Upvoted::Downloaded => {
            println!("upvoted {hash}: your client seeds it");
        }
    }
    Ok(())
}

async fn unvote(home: &Home, config: &Config, args: UnvoteArgs) -> Result<()> {
    let mut store = Store::open(&home.store)?;
    let hash = resolve(&store, &args.reference)?;
    let client = AnyClient::from_config(config)?;
    vote::unvote(&mut store, &client, hash, args.force).await?;
    println!("unvoted {hash}: your client no longer seeds it");
    Ok(())
}

async fn sync(home: &Home, config: &Config, args: SyncArgs) -> Result<()> {
    let mut store = Store::open(&home.store)?;
    let client = AnyClient::from_config(config)?;
    let options = crate::sync::SyncOptions {
        fetch_limit: args.fetch_limit,
        fetch_timeout: Duration::from_secs(args.timeout),
        scrape_timeout: Duration::from_secs(5),
        progress: Progress::new(!args.json),
    };
    let mut report = crate::sync::sync(&mut store, config, &client, &options, now()).await?;
    crate::sync::sync_dht(
        &mut report,
        &mut store,
        config,
        &client,
        &home.identity,
        &options,
        now(),
    )
    .await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.text());
    }
    Ok(())
}

async fn doctor(home: &Home, config: &Config, args: DoctorArgs) -> Result<()> {
    let checks = crate::doctor::run(home, config, now()).await;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&checks)?);
    } else {
        print!("{}", crate::doctor::text(&checks));
    }
    let failed = checks
        .iter()
        .filter(|c| c.outcome == crate::doctor::Outcome::Fail)
        .count();
    if failed > 0 {
        bail!("{failed} check(s) failed; apply the fixes above");
    }
    Ok(())
}

async fn gc(home: &Home, config: &Config, args: GcArgs) -> Result<()> {
    let mut store = Store::open(&home.store)?;
    // Without an identity nothing is ours; an unreadable one stops gc.
    let me = if home.identity.exists() {
        Some(keyfile::load(&home.identity)?.public_key())
    } else {
        None
    };
    let options = crate::gc::GcOptions {
        dry_run: args.dry_run,
        include_authored: args.authored,
        progress: Progress::new(!args.json),
    };
    let report = crate::gc::gc(&mut store, config, me, options, now()).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.text());
    }
    Ok(())
}

async fn daemon(home: &Home, config: &Config, args: DaemonArgs) -> Result<()> {
    use crate::daemon::{Daemon, LogFormat, init_logging};
    init_logging(if args.log_json {
        LogFormat::Json
    } else {
        LogFormat::Text
    });
    Daemon::new(home, config)?.run().await
}

fn status(home: &Home, config: &Config, args: StatusArgs) -> Result<()> {
    let store = Store::open(&home.store)?;
    let status = crate::status::read(&store, config.seeding.max_torrents, now())?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&status)?);
    } else {
        print!("{}", status.text());
    }
    Ok(())
}

async fn follow(home: &Home, config: &Config, args: FollowArgs, on: bool) -> Result<()> {
    let key: upseed_core::PublicKey = args.key.parse()?;
    let mut store = Store::open(&home.store)?;
    let changed = if on {
        store.follow(key, now())?
    } else {
        store.unfollow(key)?
    };
    match (on, changed) {
        (true, true) => println!("following {key}; `upseed sync` fetches their posts"),
        (true, false) => println!("already following {key}"),
        (false, true) => println!("no longer following {key}"),
        (false, false) => println!("you were not following {key}"),
    }
    republish(home, config, &mut store).await
}

/// Publishes our outbox after a change to it, warning when it cannot.
async fn republish(home: &Home, config: &Config, store: &mut Store) -> Result<()> {
    if let Some(dht) = join_dht(config).await {
        let key = keyfile::load(&home.identity)?;
        let client = AnyClient::from_config(config)?;
        let me = crate::discover::Me {
            key: &key,
            config,
            client: &client,
        };
        match crate::discover::publish_outbox(&dht, store, &me, now()).await {
            Ok(published) => warn_index(&published),
            Err(e) => {
                eprintln!(
                    "warning: your outbox was not published: {e:#}; `upseed sync` tries again"
                );
            }
        }
    }
    Ok(())
}

/// Warns when the outbox index could not be updated.
fn warn_index(published: &crate::discover::Published) {
    if let Some(e) = &published.index_error {
        eprintln!(
            "warning: your outbox index was not updated: {e}; the DHT item names the previous version, and `upseed sync` tries again"
        );
    }
}

async fn profile(home: &Home, config: &Config, args: ProfileArgs) -> Result<()> {
    let key = keyfile::load(&home.identity)?;
    let mut store = Store::open(&home.store)?;
    let mut outbox = store.outbox(key.public_key())?;
    let clear = |v: Option<String>, old: Option<String>| match v {
        Some(v) if v.is_empty() => None,
        Some(v) => Some(v),
        None => old,
    };
    outbox.name = clear(args.name, outbox.name);
    outbox.about = clear(args.about, outbox.about);
    // Refuse what cannot be published before storing it.
    outbox.encode()?;
    store.set_profile("name", outbox.name.as_deref())?;
    store.set_profile("about", outbox.about.as_deref())?;
    println!(
        "profile: {} / {}",
        outbox.name.as_deref().unwrap_or("(no name)"),
        outbox.about.as_deref().unwrap_or("(no about)")
    );
    republish(home, config, &mut store).await
}

fn pin(home: &Home, args: PinArgs, on: bool) -> Result<()> {
    let mut store = Store::open(&home.store)?;
    let hash = resolve(&store, &args.reference)?;
    if store.record(hash)?.is_none() {
        bail!("{hash} is not in your store; `upseed show {hash}` fetches it first");
    }
    if on {
        store.pin(hash, now())?;
        println!("pinned {hash}: gc keeps it");
    } else if store.unpin(hash)? {
        println!("unpinned {hash}");
    } else {
        println!("{hash} was not pinned");
    }
    Ok(())
}

/// How far back `feed --community` reads the community's boards: the
/// window, but at most a day back (the current bucket and the 4 before:
/// up to 20 boards, 3 waves of DHT queries; see `dht::MAX_QUERIES`).
const BOARD_LOOKBACK: u64 = 86_400;

/// The config, when there is one that loads: reads work without it.
fn config_if_any(home: &Home) -> Option<Config> {
    home.config
        .exists()
        .then(|| Config::load(&home.config).ok())
        .flatten()
}

/// Fetches what DHT leads name, for a read command: failures are warnings,
/// and the command goes on with what the store has.
async fn read_leads(
    home: &Home,
    config: &Config,
    gather: impl AsyncFnOnce(&Dht, &mut Store) -> Result<Vec<(InfoHash, crate::discover::Expect)>>,
) {
    let Some(dht) = join_dht(config).await else {
        eprintln!("warning: showing what your store has");
        return;
    };
    let outcome = async {
        let mut store = Store::open(&home.store)?;
        let leads = gather(&dht, &mut store).await?;
        let client = AnyClient::from_config(config)?;
        let fetch = Fetch::quiet(&client, config, Duration::from_secs(60), now());
        crate::discover::follow_leads(&mut store, &fetch, leads, config.daemon.fetch_limit).await
    }
    .await;
    match outcome {
        Ok(leads) => {
            if !leads.rejected.is_empty() {
                eprintln!(
                    "warning: {} record(s) named on the DHT were not what they claimed, and were dropped",
                    leads.rejected.len()
                );
            }
            if leads.failed > 0 {
                eprintln!(
                    "warning: {} record(s) named on the DHT could not be fetched (nobody seeds them, or too slowly); `upseed sync` tries again",
                    leads.failed
                );
            }
        }
        Err(e) => eprintln!("warning: {e:#}; showing what your store has"),
    }
}

async fn feed(home: &Home, args: FeedArgs) -> Result<()> {
    let window = match args.window {
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
    let community = args
        .community
        .as_deref()
        .map(upseed_core::Community::normalize)
        .transpose()?;
    if let (Some(c), Some(config)) = (&community, config_if_any(home))
        && config.dht.enabled
    {
        let back = window.seconds().unwrap_or(u64::MAX).min(BOARD_LOOKBACK);
        let since = now().saturating_sub(back);
        read_leads(home, &config, async |dht, store| {
            crate::discover::community_leads(dht, store, c, since, now()).await
        })
        .await;
    }
    let store = Store::open(&home.store)?;
    let feed = render::build_feed(&store, sort, community.as_ref(), args.limit, now())?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&feed)?);
    } else {
        print!("{}", render::feed_text(&feed, Style::detect()));
    }
    Ok(())
}

async fn thread(home: &Home, args: ThreadArgs) -> Result<()> {
    let hash = resolve(&Store::open(&home.store)?, &args.reference)?;
    if let Some(config) = config_if_any(home)
        && config.dht.enabled
    {
        let found = render::known(&Store::open(&home.store)?, hash)?;
        let post = match found.root() {
            Some(root) => Store::open(&home.store)?.record(root)?,
            None => Some(found),
        };
        if let Some(post) = post {
            read_leads(home, &config, async |dht, store| {
                crate::discover::reply_leads(dht, store, &post, now()).await
            })
            .await;
        }
    }
    let store = Store::open(&home.store)?;
    let sort = match args.sort {
        ThreadSort::Top => render::ThreadSort::Top,
        ThreadSort::New => render::ThreadSort::New,
        ThreadSort::Hot => render::ThreadSort::Hot,
    };
    let thread = render::build_thread(&store, hash, sort)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&thread)?);
    } else {
        print!("{}", render::thread_text(&thread, now(), Style::detect()));
    }
    Ok(())
}

async fn run(cli: Cli) -> Result<()> {
    let home = Home::locate(cli.config.as_deref())?;
    let load = || Config::load(&home.config).context(ConfigProblem);
    match cli.command {
        Command::Init(args) => init(&home, *args)?,
        Command::Post(args) => post(&home, &load()?, args).await?,
        Command::Comment(args) => comment(&home, &load()?, args).await?,
        Command::Upvote(args) => upvote(&home, &load()?, args).await?,
        Command::Unvote(args) => unvote(&home, &load()?, args).await?,
        Command::Show(args) => show(&home, args).await?,
        Command::Sync(args) => sync(&home, &load()?, args).await?,
        Command::Doctor(args) => doctor(&home, &load()?, args).await?,
        Command::Gc(args) => gc(&home, &load()?, args).await?,
        Command::Daemon(args) => daemon(&home, &load()?, args).await?,
        Command::Status(args) => status(&home, &load()?, args)?,
        Command::Follow(args) => follow(&home, &load()?, args, true).await?,
        Command::Unfollow(args) => follow(&home, &load()?, args, false).await?,
        Command::Profile(args) => profile(&home, &load()?, args).await?,
        Command::Pin(args) => pin(&home, args, true)?,
        Command::Unpin(args) => pin(&home, args, false)?,
        Command::Feed(args) => feed(&home, args).await?,
        Command::Thread(args) => thread(&home, args).await?,
        Command::Key(KeyCommand::New { key }) => {
            let path = key.unwrap_or_else(|| home.identity.clone());
            let secret = SecretKey::generate()?;
            keyfile::create(&path, &secret)?;
            println!("{}", secret.public_key());
            eprintln!(
                "saved your secret key to {} (mode 0600); back it up",
                path.display()
            );
        }
        Command::Key(KeyCommand::Show { key }) => {
            println!(
                "{}",
                keyfile::load(&key.unwrap_or_else(|| home.identity.clone()))?.public_key()
            );
        }
        Command::Inspect {
            torrent,
            body,
            json,
        } => {
            let bytes = std::fs::read(&torrent)
                .with_context(|| format!("cannot read {}", torrent.display()))?;
            let mut record = Torrent::parse(&bytes, now())
                .with_context(|| format!("{} is not a valid upseed record", torrent.display()))?
                .record;
            if let Some(path) = body {
                let text = std::fs::read(&path)
                    .with_context(|| format!("cannot read {}", path.display()))?;
                record = record
                    .with_body(&text)
                    .with_context(|| format!("{} does not match the record", path.display()))?;
            }
            if json {
                println!("{}", serde_json::to_string_pretty(&record.to_json())?);
            } else {
                print_record(&record);
            }
        }
    }
    Ok(())
}

fn exit_code(error: &anyhow::Error) -> ExitCode {
    for cause in error.chain() {
        if cause.is::<VerifyError>()
            || matches!(
                cause.downcast_ref::<FetchError>(),
                Some(FetchError::Invalid { .. } | FetchError::TooLarge { .. })
            )
        {
            return ExitCode::from(exit::INVALID);
        }
        if let Some(client) = cause.downcast_ref::<ClientError>() {
            return ExitCode::from(match client {
                ClientError::Unreachable { .. } => exit::UNREACHABLE,
                ClientError::Unauthorized { .. } | ClientError::Banned { .. } => exit::AUTH,
                _ => 1,
            });
        }
    }
    if error.downcast_ref::<ConfigProblem>().is_some() {
        return ExitCode::from(exit::CONFIG);
    }
    ExitCode::FAILURE
}

/// Runs the command line and returns its exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            exit_code(&error)
        }
    }
}
