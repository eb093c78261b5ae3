//! The command line's grammar: every command, flag and argument, as clap
//! parses them. `--help` texts come from the doc comments here.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// A text-only social network on the BitTorrent client you already run.
#[derive(Debug, Parser)]
#[command(name = "upseed", version, about, max_term_width = 100)]
pub(crate) struct Cli {
    /// The config file; the identity, store, posts and downloads sit beside it
    /// [default: $UPSEED_HOME/config.toml; else the config and identity in
    /// $XDG_CONFIG_HOME/upseed (~/.config/upseed), and the store, posts and
    /// downloads in $XDG_DATA_HOME/upseed (~/.local/share/upseed)].
    #[arg(long, global = true, value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
    /// Say more: each step of long work as a line, and debug logs.
    #[arg(short, long, global = true, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    pub(crate) verbose: u8,
    /// Say less: no progress, no warnings; errors only.
    #[arg(short, long, global = true)]
    pub(crate) quiet: bool,
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Create your identity and a commented config.
    Init(Box<InitArgs>),
    /// Publish a post: sign it, write its text, and have your client seed it.
    Post(PostArgs),
    /// Comment on a post or comment you know: sign it and have your client seed it.
    Comment(CommentArgs),
    /// Replace the text of a post or comment of yours. It keeps its id, votes and
    /// comments; readers see the new text, marked edited.
    Edit(EditArgs),
    /// Delete a post or comment of yours, for good: readers show it as deleted and
    /// stop seeding it, and its comments stay.
    Delete(DeleteArgs),
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
    /// Hide an author, a thread, a community or a word from every feed, thread,
    /// search and page, and stop seeding what it covers. Private: nothing is published.
    Mute(MuteArgs),
    /// Undo `mute`.
    Unmute(UnmuteArgs),
    /// List what you muted and the mute lists you subscribe to; publish
    /// your list, or subscribe to someone else's.
    Mutes(MutesArgs),
    /// Ranked posts from your store.
    Feed(FeedArgs),
    /// A post and its comment tree.
    Thread(ThreadArgs),
    /// Search the posts and comments in your store: words, `author:NAME`
    /// (a display name or the start of a key) and `community:NAME`.
    Search(SearchArgs),
    /// Create or show your identity (an ed25519 key pair).
    #[command(subcommand)]
    Key(KeyCommand),
    /// Write a post or comment's .torrent and text into a folder, to inspect or share.
    Export(ExportArgs),
    /// Claim a torrent your client finished as an upvote, if it is a post or comment:
    /// what the client runs when a torrent completes. Any other torrent is left alone.
    /// `--install` has the client run it.
    Ingest(IngestArgs),
    /// Serve the network as a web page, for browsers and phones, and run the
    /// daemon's schedule in the same process (unless --no-daemon).
    Serve(ServeArgs),
    /// The effective config.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Print a completion script for a shell, for example
    /// `upseed completions bash > ~/.local/share/bash-completion/completions/upseed`.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff), for example
    /// `upseed man > ~/.local/share/man/man1/upseed.1`.
    Man,
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
pub(crate) struct InitArgs {
    /// The client: `qbittorrent`, `transmission`, or `embedded` (upseed's own engine) [default: one answering on this machine, else embedded].
    #[arg(long, value_name = "KIND")]
    pub(crate) client: Option<String>,
    /// Its Web UI URL (qBittorrent) or RPC URL (Transmission).
    #[arg(long)]
    pub(crate) url: Option<url::Url>,
    /// The client user name.
    #[arg(long)]
    pub(crate) username: Option<String>,
    /// A file holding the client password (mode 0600); or set UPSEED_CLIENT_PASSWORD.
    /// On a terminal, init asks for the password and saves it beside the config.
    #[arg(long, value_name = "FILE")]
    pub(crate) password_file: Option<PathBuf>,
    /// Where upseed writes your posts' text [default: posts/ in the data folder].
    #[arg(long, value_name = "DIR")]
    pub(crate) posts_dir: Option<PathBuf>,
    /// Where your client saves what you read and upvote [default: downloads/ in the data folder].
    #[arg(long, value_name = "DIR")]
    pub(crate) downloads_dir: Option<PathBuf>,
    /// A tracker announce URL; repeat for several.
    #[arg(long = "tracker", value_name = "URL")]
    pub(crate) trackers: Vec<String>,
    /// The qBittorrent category or Transmission label for upseed's torrents.
    #[arg(long, default_value = "upseed")]
    pub(crate) category: String,
    /// Path prefix as upseed sees it, when the client sees it elsewhere.
    #[arg(long, value_name = "DIR", requires = "path_remote")]
    pub(crate) path_local: Option<PathBuf>,
    /// The same prefix as the client sees it.
    #[arg(long, value_name = "DIR", requires = "path_local")]
    pub(crate) path_remote: Option<String>,
    /// Replace an existing config (the identity is always kept).
    #[arg(long)]
    pub(crate) force: bool,
    /// Write the config without testing the login (the client need not run yet).
    #[arg(long)]
    pub(crate) offline: bool,
}

#[derive(Debug, Args)]
pub(crate) struct PostArgs {
    /// A one-line title.
    #[arg(long)]
    pub(crate) title: Option<String>,
    /// The community to post in.
    #[arg(long)]
    pub(crate) community: Option<String>,
    /// The text; `-` or nothing reads it from standard input.
    pub(crate) text: Option<String>,
    /// Print one JSON document (schema: docs/schema/post.schema.json).
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct EditArgs {
    /// The post or comment: an infohash, a unique prefix of one, or a magnet link.
    pub(crate) reference: String,
    /// The new text; `-` or nothing reads it from standard input.
    pub(crate) text: Option<String>,
    /// A post's new title [default: the current one].
    #[arg(long)]
    pub(crate) title: Option<String>,
    /// Print one JSON document (schema: docs/schema/edit.schema.json).
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct DeleteArgs {
    /// The post or comment: an infohash, a unique prefix of one, or a magnet link.
    pub(crate) reference: String,
    /// Print one JSON document (schema: docs/schema/edit.schema.json).
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct CommentArgs {
    /// What to answer: an infohash, a unique prefix of one, or a magnet link.
    pub(crate) reference: String,
    /// The text; `-` or nothing reads it from standard input.
    pub(crate) text: Option<String>,
    /// Print one JSON document (schema: docs/schema/post.schema.json).
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct VoteArgs {
    /// An infohash, a unique prefix of one, or a magnet link.
    pub(crate) reference: String,
    /// Give up downloading after this many seconds.
    #[arg(long, default_value_t = 120, value_name = "SECONDS")]
    pub(crate) timeout: u64,
    /// Print one JSON document (schema: docs/schema/upvote.schema.json).
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct UnvoteArgs {
    /// An infohash, a unique prefix of one, or a magnet link.
    pub(crate) reference: String,
    /// Also stop seeding a post or comment you wrote (its file is kept).
    #[arg(long)]
    pub(crate) force: bool,
    /// Print one JSON document (schema: docs/schema/unvote.schema.json).
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ShowArgs {
    /// An infohash, a unique prefix of one, or a magnet link.
    pub(crate) reference: String,
    /// Give up fetching after this many seconds.
    #[arg(long, default_value_t = 120, value_name = "SECONDS")]
    pub(crate) timeout: u64,
    /// Print one JSON document (schema: docs/schema/record.schema.json).
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct SyncArgs {
    /// Fetch at most this many newly discovered posts and comments.
    #[arg(long, default_value_t = 50, value_name = "N")]
    pub(crate) fetch_limit: usize,
    /// Give up on fetches after this many seconds.
    #[arg(long, default_value_t = 120, value_name = "SECONDS")]
    pub(crate) timeout: u64,
    /// Print one JSON document (schema: docs/schema/sync.schema.json).
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct GcArgs {
    /// List what would go, and change nothing.
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// Let [seeding] limits stop seeding your own posts and comments too (their files are kept).
    #[arg(long)]
    pub(crate) authored: bool,
    /// Print one JSON document (schema: docs/schema/gc.schema.json).
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct DaemonArgs {
    /// Log one JSON object per line instead of text.
    #[arg(long)]
    pub(crate) log_json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct StatusArgs {
    /// Print one JSON document (schema: docs/schema/status.schema.json).
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct FollowArgs {
    /// Their public key, as `upseed key show` prints it (z-base-32 or hex).
    pub(crate) key: String,
    /// Print one JSON document (schema: docs/schema/follow.schema.json).
    #[arg(long)]
    pub(crate) json: bool,
}

/// What a mute names.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub(crate) enum MuteKindArg {
    /// An author: their key, or a display name only one author you know has.
    Author,
    /// A post or comment and every reply under it: an infohash, a unique
    /// prefix or a magnet link.
    Thread,
    /// A community.
    Community,
    /// A word or phrase: whole words, case-insensitive.
    Word,
}

impl From<MuteKindArg> for upseed_core::mute::MuteKind {
    fn from(kind: MuteKindArg) -> Self {
        match kind {
            MuteKindArg::Author => Self::Author,
            MuteKindArg::Thread => Self::Thread,
            MuteKindArg::Community => Self::Community,
            MuteKindArg::Word => Self::Word,
        }
    }
}

#[derive(Debug, Args)]
pub(crate) struct MuteArgs {
    /// What to mute.
    #[arg(value_enum)]
    pub(crate) kind: MuteKindArg,
    /// The author, thread, community or phrase.
    pub(crate) value: String,
    /// Only for this long, for example `12h`, `7d` or `1month`.
    #[arg(long = "for", value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub(crate) duration: Option<std::time::Duration>,
    /// Also stop seeding your own posts and pinned ones that it covers
    /// (your files are kept).
    #[arg(long)]
    pub(crate) include_own: bool,
    /// Print one JSON document (schema: docs/schema/mute.schema.json).
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct UnmuteArgs {
    /// What to unmute.
    #[arg(value_enum)]
    pub(crate) kind: MuteKindArg,
    /// The author, thread, community or phrase, as it was muted.
    pub(crate) value: String,
    /// Print one JSON document (schema: docs/schema/unmute.schema.json).
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct MutesArgs {
    /// What to do; with none, list your mutes and subscriptions.
    #[command(subcommand)]
    pub(crate) action: Option<MutesAction>,
    /// Print one JSON document (schema: docs/schema/mutes.schema.json).
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum MutesAction {
    /// Sign your mutes as a list and publish it on the DHT, now and at
    /// every sync, so that others can subscribe to it.
    Publish(JsonFlag),
    /// Publish an empty list, so that subscribers drop your entries, and
    /// stop publishing.
    Unpublish(JsonFlag),
    /// Subscribe to someone's mute list: it hides what it names, except
    /// from people you follow, and is read again at every sync.
    Subscribe(ListKeyArgs),
    /// Stop using someone's mute list.
    Unsubscribe(ListKeyArgs),
}

#[derive(Debug, Args)]
pub(crate) struct JsonFlag {
    /// Print one JSON document (schema: docs/schema/mutes-publish.schema.json).
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ListKeyArgs {
    /// The list's author: their key, or a display name only one author you
    /// know has.
    pub(crate) author: String,
    /// Print one JSON document (schemas: docs/schema/mutes-subscribe.schema.json,
    /// docs/schema/mutes-unsubscribe.schema.json).
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ProfileArgs {
    /// A display name (at most 64 bytes); an empty one clears it.
    #[arg(long)]
    pub(crate) name: Option<String>,
    /// A few words about you (at most 280 bytes); an empty text clears it.
    #[arg(long)]
    pub(crate) about: Option<String>,
    /// Print one JSON document (schema: docs/schema/profile.schema.json).
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct PinArgs {
    /// A stored post or comment: an infohash, a unique prefix of one, or a magnet link.
    pub(crate) reference: String,
    /// Print one JSON document (schema: docs/schema/pin.schema.json).
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct DoctorArgs {
    /// Print one JSON document (schema: docs/schema/doctor.schema.json).
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub(crate) enum FeedSort {
    Hot,
    New,
    Active,
    Top,
    /// The share of readers who keep seeding (Wilson lower bound).
    Best,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub(crate) enum WindowArg {
    Day,
    Week,
    Month,
    Year,
    All,
}

#[derive(Debug, Args)]
pub(crate) struct FeedArgs {
    /// The order.
    #[arg(long, value_enum, default_value = "hot")]
    pub(crate) sort: FeedSort,
    /// The window for `--sort top` [default: day]; other sorts refuse it.
    #[arg(long, value_enum)]
    pub(crate) window: Option<WindowArg>,
    /// Only this community.
    #[arg(long)]
    pub(crate) community: Option<String>,
    /// At most this many posts.
    #[arg(long, default_value_t = 25)]
    pub(crate) limit: usize,
    /// With --community: wait at most this many seconds for the DHT's
    /// boards and the posts they name, then show what the store has.
    #[arg(long, default_value_t = 20, value_name = "SECONDS")]
    pub(crate) timeout: u64,
    /// Show what your mutes hide, marked, instead of leaving it out.
    #[arg(long)]
    pub(crate) show_muted: bool,
    /// Rank by `trusted` count (upvotes from you, the keys you follow and
    /// keys enough of them follow), by `verified` seeders (peers that
    /// served a piece to a probe) or by `seeders` [default: trusted once
    /// you follow 3 keys, see [trust] in the config; else seeders].
    #[arg(long, value_enum)]
    pub(crate) by: Option<BasisArg>,
    /// Print one JSON document (schema: docs/schema/feed.schema.json).
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub(crate) enum BasisArg {
    /// Distinct keys of your web of trust that upvote it.
    Trusted,
    /// Peers that proved they seed it, serving a piece to a probe.
    Verified,
    /// Who seeds it now, as the swarm says.
    Seeders,
}

impl From<BasisArg> for upseed_core::rank::Basis {
    fn from(by: BasisArg) -> Self {
        match by {
            BasisArg::Trusted => Self::Trusted,
            BasisArg::Verified => Self::Verified,
            BasisArg::Seeders => Self::Seeders,
        }
    }
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub(crate) enum SearchOrderArg {
    /// The most recently stored first.
    New,
    /// The best match first.
    Relevance,
}

#[derive(Debug, Args)]
pub(crate) struct SearchArgs {
    /// What to look for, for example `compost heap* author:alice community:garden`.
    /// Words match whole words (a trailing `*` matches a prefix), case and accents folded.
    #[arg(required = true, num_args = 1.., value_name = "QUERY")]
    pub(crate) query: Vec<String>,
    /// The order.
    #[arg(long, value_enum, default_value = "new")]
    pub(crate) order: SearchOrderArg,
    /// At most this many results.
    #[arg(long, default_value_t = 25)]
    pub(crate) limit: usize,
    /// Skip this many results first: the next page.
    #[arg(long, default_value_t = 0)]
    pub(crate) offset: usize,
    /// Show what your mutes hide, marked, instead of leaving it out.
    #[arg(long)]
    pub(crate) show_muted: bool,
    /// Print one JSON document (schema: docs/schema/search.schema.json).
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub(crate) enum ThreadSort {
    Top,
    New,
    Hot,
}

#[derive(Debug, Args)]
pub(crate) struct ThreadArgs {
    /// The post (or any comment in its thread): an infohash, a unique prefix, or a magnet link.
    pub(crate) reference: String,
    /// The order of comments under the same parent.
    #[arg(long, value_enum, default_value = "top")]
    pub(crate) sort: ThreadSort,
    /// Give up fetching (a thread not yet stored, and new replies) after this many seconds.
    #[arg(long, default_value_t = 60, value_name = "SECONDS")]
    pub(crate) timeout: u64,
    /// Show what your mutes hide, marked, instead of leaving it out.
    #[arg(long)]
    pub(crate) show_muted: bool,
    /// Print one JSON document (schema: docs/schema/thread.schema.json).
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct IngestArgs {
    /// The torrent's infohash [default: $TR_TORRENT_HASH, which Transmission sets].
    #[arg(conflicts_with = "install")]
    pub(crate) infohash: Option<String>,
    /// Write the hook script beside the config and have the client run it
    /// when a torrent finishes (qBittorrent: "Run external program on torrent
    /// finished"; Transmission: script-torrent-done-filename).
    #[arg(long)]
    pub(crate) install: bool,
    /// With --install: replace another program the client runs.
    #[arg(long, requires = "install")]
    pub(crate) replace: bool,
    /// Print one JSON document (schema: docs/schema/ingest.schema.json, or
    /// hook.schema.json with --install).
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ExportArgs {
    /// An infohash, a unique prefix of one, or a magnet link (fetched if not stored).
    pub(crate) reference: String,
    /// The folder to write `<infohash>.torrent` and the text file into.
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub(crate) dir: PathBuf,
    /// Give up fetching after this many seconds.
    #[arg(long, default_value_t = 120, value_name = "SECONDS")]
    pub(crate) timeout: u64,
    /// Print one JSON document (schema: docs/schema/export.schema.json).
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// The address to listen on. Any address but loopback needs a login:
    /// UPSEED_SERVE_PASSWORD, or --password-file.
    #[arg(long, default_value = "127.0.0.1:8780", value_name = "ADDR")]
    pub(crate) listen: std::net::SocketAddr,
    /// A file holding the web page's password (mode 0600).
    #[arg(long, value_name = "FILE")]
    pub(crate) password_file: Option<PathBuf>,
    /// Serve only: leave sync, the seeding rules and gc to a separate `upseed daemon`.
    #[arg(long)]
    pub(crate) no_daemon: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum ConfigCommand {
    /// Print every setting's effective value and where it came from: the
    /// config file, an UPSEED_* variable, or the default. Secrets are not shown.
    Show {
        /// Print one JSON document (schema: docs/schema/config.schema.json).
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum KeyCommand {
    /// Create a new identity. Refuses to overwrite an existing one.
    New {
        /// Where the secret key goes [default: beside the config, identity.key].
        #[arg(long, value_name = "PATH")]
        key: Option<PathBuf>,
        /// Print one JSON document (schema: docs/schema/key.schema.json).
        #[arg(long)]
        json: bool,
    },
    /// Print the public key to share with others.
    Show {
        /// The secret key file [default: beside the config, identity.key].
        #[arg(long, value_name = "PATH")]
        key: Option<PathBuf>,
        /// Print one JSON document (schema: docs/schema/key.schema.json).
        #[arg(long)]
        json: bool,
    },
}
