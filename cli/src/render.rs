//! What read commands print: wrapped text for people, one JSON document
//! for programs. The JSON shapes have schemas in `docs/schema/`.

use upseed_core::mute::{MuteKind, MutedBy};
use upseed_core::{InfoHash, RecordJson};
use upseed_node::doctor::{Check, Outcome};
pub use upseed_node::feed::{
    FeedItem, FeedJson, ThreadComment, ThreadJson, ThreadSort, build_feed, build_thread,
};
use upseed_node::gc::GcReport;
use upseed_node::status::Status;
use upseed_node::sync::SyncReport;

/// Styling for a terminal, off for pipes and with `NO_COLOR`.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    /// Use ANSI bold and dim.
    pub color: bool,
    /// Wrap text at this many columns.
    pub width: usize,
}

impl Style {
    /// The style for standard output: color only on a terminal without `NO_COLOR`.
    pub fn detect(env: &crate::Env) -> Self {
        let no_color = env.vars.get("NO_COLOR").is_some();
        let width = env
            .vars
            .get("COLUMNS")
            .and_then(|c| c.parse().ok())
            .unwrap_or(80);
        Self {
            color: env.out_tty && !no_color,
            width: width.clamp(40, 120),
        }
    }

    /// Plain text at 80 columns, for tests and pipes.
    pub fn plain() -> Self {
        Self {
            color: false,
            width: 80,
        }
    }

    fn bold(&self, text: &str) -> String {
        if self.color {
            format!("\x1b[1m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }

    fn dim(&self, text: &str) -> String {
        if self.color {
            format!("\x1b[2m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }
}

/// `text` made safe for a terminal: control characters other than line
/// feed and tab, bidirectional controls, and line and paragraph
/// separators are shown as `\u{…}` escapes. Strings of network origin
/// (error messages naming a tracker's reason or a torrent's keys) go
/// through here, so that no torrent or tracker can drive the terminal.
pub fn clean(text: &str) -> String {
    let unsafe_char = |c: char| {
        (c.is_control() && c != '\n' && c != '\t')
            || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{2028}' | '\u{2029}')
    };
    if !text.chars().any(unsafe_char) {
        return text.to_owned();
    }
    text.chars()
        .map(|c| {
            if unsafe_char(c) {
                format!("\\u{{{:04x}}}", u32::from(c))
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// A title on one line: line and paragraph separators show as spaces.
fn one_line(title: &str) -> String {
    title.replace(['\u{2028}', '\u{2029}'], " ")
}

/// "5 minutes ago", "in the future" for clock skew.
pub fn relative(then: u64, now: u64) -> String {
    let Some(age) = now.checked_sub(then) else {
        return "just now".into();
    };
    let (n, unit) = match age {
        0..60 => return "just now".into(),
        60..3_600 => (age / 60, "minute"),
        3_600..86_400 => (age / 3_600, "hour"),
        86_400..2_629_746 => (age / 86_400, "day"),
        2_629_746..31_557_600 => (age / 2_629_746, "month"),
        _ => (age / 31_557_600, "year"),
    };
    format!("{n} {unit}{} ago", if n == 1 { "" } else { "s" })
}

/// "2026-11-30 15:24 UTC (3 hours ago)".
pub fn date(then: u64, now: u64) -> String {
    let at = std::time::UNIX_EPOCH + std::time::Duration::from_secs(then);
    let text = humantime::format_rfc3339_seconds(at).to_string();
    let text = text.trim_end_matches('Z').replacen('T', " ", 1);
    format!("{text} UTC ({})", relative(then, now))
}

fn short(hash: &InfoHash) -> String {
    hash.to_hex()[..12].to_owned()
}

/// The author's key prefix, after their display name when known: a name
/// is only a claim, so the key that signed stays beside it.
fn author(record: &RecordJson, name: Option<&str>) -> String {
    let key = &record.author.to_z32()[..12];
    match name {
        Some(name) => format!("{} ({key})", clean(&one_line(name))),
        None => key.to_owned(),
    }
}

fn wrap(text: &str, width: usize, indent: &str) -> String {
    let options = textwrap::Options::new(width.saturating_sub(indent.len()).max(20));
    text.lines()
        .map(|line| {
            if line.trim().is_empty() {
                indent.trim_end().to_owned()
            } else {
                textwrap::wrap(line, &options)
                    .iter()
                    .map(|l| format!("{indent}{l}"))
                    .collect::<Vec<_>>()
                    .join("\n")
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// A record's title, else the first `chars` characters of its text's
/// first line.
pub fn headline(record: &RecordJson, chars: usize) -> String {
    record.title.clone().unwrap_or_else(|| {
        record
            .body
            .as_deref()
            .unwrap_or("")
            .lines()
            .next()
            .unwrap_or("")
            .chars()
            .take(chars)
            .collect()
    })
}

/// The version of a record to show: the latest, when its author edited
/// it; `None` when they deleted it.
pub fn latest<'a>(
    record: &'a RecordJson,
    edit: Option<&'a upseed_node::EditJson>,
) -> Option<&'a RecordJson> {
    match edit {
        Some(e) if e.deleted => None,
        Some(e) => Some(e.latest.as_ref().unwrap_or(record)),
        None => Some(record),
    }
}

/// What follows a record's title when its author edited it.
fn edited_mark(edit: Option<&upseed_node::EditJson>) -> &'static str {
    match edit {
        Some(e) if e.deleted => "",
        Some(e) if e.latest.is_none() => " (edited; the new text is not fetched yet)",
        Some(_) => " (edited)",
        None => "",
    }
}

/// What a mute names, for people: `author KEY`, `word "PHRASE"`.
pub fn mute_label(kind: MuteKind, value: &str) -> String {
    match kind {
        MuteKind::Word => format!("word \"{}\"", one_line(value)),
        kind => format!("{kind} {}", one_line(value)),
    }
}

/// `upseed mutes` for people.
pub fn mutes_text(list: &upseed_node::MutesJson) -> String {
    let now = upseed_node::now();
    let mut out = String::new();
    if list.mutes.is_empty() {
        out.push_str("nothing muted\n");
    }
    for m in &list.mutes {
        let until = match m.until {
            Some(until) => format!(" (until {})", date(until, now)),
            None => String::new(),
        };
        out.push_str(&format!("{}{until}\n", mute_label(m.kind, &m.value)));
    }
    if list.published {
        out.push_str("published as your mute list (`upseed mutes unpublish` stops)\n");
    }
    for l in &list.lists {
        let state = match (&l.created, &l.error) {
            (_, Some(error)) => format!("; last read failed: {}", one_line(error)),
            (None, None) => "; not read yet".to_owned(),
            (Some(_), None) => String::new(),
        };
        out.push_str(&format!(
            "subscribed to the mute list of {}: {}{state}\n",
            l.author,
            plural(l.entries, "entry", "entries")
        ));
    }
    out
}

/// `upseed mutes publish` and `unpublish` for people.
pub fn mute_list_text(report: &upseed_node::MuteListReport) -> String {
    let mut out = if report.published {
        format!(
            "published your mute list: {}; it is signed again at each sync when your mutes change\n",
            plural(report.entries, "entry", "entries")
        )
    } else {
        "published an empty mute list: subscribers drop your entries at their next sync; your mutes are private again\n".to_owned()
    };
    if let Some(torrent) = report.torrent {
        out.push_str(&format!(
            "it is too long for one DHT item: your client seeds it as {torrent}\n"
        ));
    }
    if !report.announced {
        out.push_str("the DHT is off or did not answer: the next sync with the DHT publishes it\n");
    }
    out
}

/// `upseed mutes subscribe` for people.
pub fn subscribed_text(report: &upseed_node::SubscribeReport) -> String {
    let list = &report.list;
    let again = if report.new {
        ""
    } else {
        " (already subscribed)"
    };
    let mut out = format!("subscribed to the mute list of {}{again}\n", list.author);
    if !report.unseeded.is_empty() {
        out.push_str(&format!(
            "stopped seeding {} it covers\n",
            plural(report.unseeded.len(), "upvoted post", "upvoted posts")
        ));
    }
    match (&list.created, &list.error) {
        (Some(_), _) => out.push_str(&format!(
            "it hides {}, except from people you follow\n",
            plural(list.entries, "entry", "entries")
        )),
        (None, Some(error)) => out.push_str(&format!(
            "not read yet ({}); each sync tries again\n",
            one_line(error)
        )),
        (None, None) => {
            out.push_str("not read yet: the DHT is off; each sync with the DHT reads it\n")
        }
    }
    out
}

/// The line under a read that says what mutes hid, if anything: `what`
/// names the records, `shown` says whether they were shown marked.
fn hidden_line(hidden: usize, what: (&str, &str), shown: bool) -> String {
    match (hidden, shown) {
        (0, _) => String::new(),
        (n, true) => format!("{} muted, shown marked\n", plural(n, what.0, what.1)),
        (n, false) => format!(
            "{} hidden by your mutes; --show-muted shows them\n",
            plural(n, what.0, what.1)
        ),
    }
}

/// The mark before a muted record that is shown.
fn muted_mark(muted: Option<&MutedBy>, indent: &str, style: Style) -> String {
    match muted {
        Some(by) => format!(
            "{indent}{}\n",
            style.dim(&format!("[muted: {}]", clean(&by.to_string())))
        ),
        None => String::new(),
    }
}

/// A post's counts, each labelled: its seeders, after its trusted count
/// and its verified seeders when the feed ranks by them or they are not 0.
pub fn counts(item: &FeedItem, by: upseed_core::rank::Basis) -> String {
    use upseed_core::rank::Basis;
    let mut out = String::new();
    if by == Basis::Trusted || item.trusted > 0 {
        out.push_str(&format!("{} trusted · ", item.trusted));
    }
    if by == Basis::Verified || item.verified > 0 {
        out.push_str(&format!("{} verified · ", item.verified));
    }
    out.push_str(&plural(item.seeders as usize, "seeder", "seeders"));
    out
}

/// A feed for people.
pub fn feed_text(feed: &FeedJson, style: Style) -> String {
    let shown = feed.items.iter().any(|i| i.muted.is_some());
    let hidden = hidden_line(feed.hidden, ("post", "posts"), shown);
    if feed.items.is_empty() {
        return format!("no posts yet\n{hidden}");
    }
    let mut out = String::new();
    for item in &feed.items {
        let r = &item.record;
        out.push_str(&muted_mark(item.muted.as_ref(), "     ", style));
        let shown = latest(r, item.edit.as_ref());
        let title = shown.map_or_else(|| "[deleted]".to_owned(), |s| headline(s, 60));
        out.push_str(&format!(
            "{:>3}. {}{}\n",
            item.rank,
            style.bold(&one_line(&title)),
            edited_mark(item.edit.as_ref())
        ));
        let community = r
            .community
            .as_ref()
            .map(|c| format!(" in {c}"))
            .unwrap_or_default();
        let reads = if item.downloads > 0 {
            format!(" · {}", plural(item.downloads as usize, "read", "reads"))
        } else {
            String::new()
        };
        out.push_str(&style.dim(&format!(
            "     {}{reads} · {} · by {}{} · {} · {}",
            counts(item, feed.by),
            plural(item.comments, "comment", "comments"),
            author(r, item.author_name.as_deref()),
            community,
            relative(r.created, feed.now),
            short(&r.infohash),
        )));
        out.push('\n');
        if let Some(shown) = shown
            && shown.title.is_some()
            && let Some(body) = &shown.body
        {
            let first: String = body
                .lines()
                .next()
                .unwrap_or("")
                .chars()
                .take(200)
                .collect();
            out.push_str(&wrap(&first, style.width, "     "));
            out.push('\n');
        }
    }
    out.push_str(&hidden);
    out
}

/// Search results for people: each record's headline, who and where, and
/// the words that matched in bold.
pub fn search_text(found: &upseed_node::SearchJson, now: u64, style: Style) -> String {
    let shown = found.items.iter().any(|i| i.muted.is_some());
    let hidden = hidden_line(found.hidden, ("result", "results"), shown);
    if found.items.is_empty() {
        return format!(
            "nothing in your store matches `{}`\n{hidden}",
            clean(&found.query)
        );
    }
    let mut out = String::new();
    for (i, item) in found.items.iter().enumerate() {
        let r = &item.record;
        out.push_str(&muted_mark(item.muted.as_ref(), "     ", style));
        let what = match r.root {
            Some(root) => format!("comment in {}", short(&root)),
            None => "post".to_owned(),
        };
        let shown = latest(r, item.edit.as_ref());
        let title = shown.map_or_else(|| "[deleted]".to_owned(), |s| headline(s, 60));
        out.push_str(&format!(
            "{:>3}. {}{}\n",
            found.offset + i + 1,
            style.bold(&clean(&one_line(&title))),
            edited_mark(item.edit.as_ref())
        ));
        let community = r
            .community
            .as_ref()
            .map(|c| format!(" in {c}"))
            .unwrap_or_default();
        out.push_str(&style.dim(&format!(
            "     {what} · {} · by {}{community} · {} · {}",
            plural(item.seeders as usize, "seeder", "seeders"),
            author(r, item.author_name.as_deref()),
            relative(r.created, now),
            short(&r.infohash),
        )));
        out.push('\n');
        let snippet: String = item
            .snippet
            .iter()
            .map(|part| {
                let text = clean(&part.text.replace(['\n', '\t'], " "));
                if part.hit { style.bold(&text) } else { text }
            })
            .collect();
        if !snippet.is_empty() && shown.is_some() {
            out.push_str(&format!("     {snippet}\n"));
        }
    }
    out.push_str(&hidden);
    out
}

fn record_block(
    record: &RecordJson,
    edit: Option<&upseed_node::EditJson>,
    name: Option<&str>,
    seeders: u32,
    now: u64,
    indent: &str,
    style: Style,
) -> String {
    let mut out = String::new();
    let shown = latest(record, edit);
    if let Some(title) = shown.and_then(|s| s.title.as_ref()) {
        out.push_str(&format!(
            "{indent}{}{}\n",
            style.bold(&one_line(title)),
            edited_mark(edit)
        ));
    } else if edit.is_some() {
        out.push_str(&format!(
            "{indent}{}\n",
            style.bold(match shown {
                None => "[deleted]",
                Some(_) => edited_mark(edit).trim_start(),
            })
        ));
    }
    out.push_str(&style.dim(&format!(
        "{indent}{} · by {} · {} · {}",
        plural(seeders as usize, "seeder", "seeders"),
        author(record, name),
        relative(record.created, now),
        short(&record.infohash),
    )));
    out.push('\n');
    match shown.map(|s| &s.body) {
        None => out.push_str(&format!("{indent}(deleted by its author)")),
        Some(Some(body)) => out.push_str(&wrap(body, style.width, indent)),
        Some(None) => out.push_str(&format!("{indent}(text not downloaded)")),
    }
    out.push('\n');
    out
}

/// A thread for people: the post, then its comments indented by depth.
pub fn thread_text(thread: &ThreadJson, now: u64, style: Style) -> String {
    let post = &thread.post;
    let mut out = muted_mark(post.muted.as_ref(), "", style);
    out += &record_block(
        &post.record,
        post.edit.as_ref(),
        post.author_name.as_deref(),
        post.seeders,
        now,
        "",
        style,
    );
    out.push_str(&format!(
        "\n{}\n",
        plural(thread.comments.len(), "comment", "comments")
    ));
    let shown = thread.comments.iter().any(|c| c.muted.is_some());
    out.push_str(&hidden_line(thread.hidden, ("comment", "comments"), shown));
    for comment in &thread.comments {
        out.push('\n');
        out.push_str(&muted_mark(
            comment.muted.as_ref(),
            &"  ".repeat(comment.depth),
            style,
        ));
        out.push_str(&record_block(
            &comment.record,
            comment.edit.as_ref(),
            comment.author_name.as_deref(),
            comment.seeders,
            now,
            &"  ".repeat(comment.depth),
            style,
        ));
    }
    out
}

/// A sync report for people.
pub fn sync_text(r: &SyncReport) -> String {
    let mut out = format!(
        "client: {} of our torrents; store: {} records before, {} new\n",
        r.client_torrents,
        r.known,
        r.fetched.len()
    );
    for t in &r.trackers {
        match &t.error {
            None => out.push_str(&format!(
                "tracker {}: ok, {} ({} request{})\n",
                t.tracker,
                if t.full_scrape {
                    "full scrape"
                } else {
                    "batched scrape"
                },
                t.requests,
                if t.requests == 1 { "" } else { "s" }
            )),
            Some(e) => out.push_str(&format!("tracker {}: FAILED: {e}\n", t.tracker)),
        }
        if let Some(e) = &t.full_scrape_error {
            out.push_str(&format!(
                "  its full scrape failed ({e}); nothing new is discovered through it\n"
            ));
        }
    }
    out.push_str(&format!(
        "discovered {}: {} stored, {} not upseed, {} failed\n",
        plural(r.discovered, "unknown torrent", "unknown torrents"),
        r.fetched.len(),
        r.foreign,
        r.failed.len()
    ));
    for f in &r.failed {
        out.push_str(&format!("  {}: {}\n", f.infohash, f.error));
    }
    out.push_str(&format!(
        "feeds: {} posts live, {} faded ({} faded now, {} back); {} requests to the client, {} to trackers, {:.1} s\n",
        r.live_posts,
        r.faded_posts,
        r.faded,
        r.revived,
        r.client_requests,
        r.tracker_requests,
        r.elapsed_ms as f64 / 1000.0
    ));
    if let Some(d) = &r.dht {
        out.push_str(&format!(
            "dht: {} followed outboxes ({} missing), {} signed votes; {} new leads: {} stored, {} forged and dropped, {} failed; outbox {}\n",
            d.outboxes,
            d.outboxes_missing,
            d.signed_votes,
            d.leads.new,
            d.leads.stored.len(),
            d.leads.rejected.len(),
            d.leads.failed,
            if d.published { "published" } else { "NOT published" }
        ));
    }
    if let Some(d) = &r.dht {
        for e in &d.index_errors {
            out.push_str(&format!("dht: a followed outbox index was not read: {e}\n"));
        }
        for line in &d.trust.lists_over_cap {
            out.push_str(&format!("trust: {line}\n"));
        }
        if let Some(e) = d.publish.as_ref().and_then(|p| p.index_error.as_ref()) {
            out.push_str(&format!("dht: your outbox index was not updated: {e}\n"));
        }
    }
    if let Some(e) = &r.dht_error {
        out.push_str(&format!("dht: {e}\n"));
    }
    let v = &r.verify;
    if v.posts > 0 {
        out.push_str(&format!(
            "verify: {} probed of {} listed for {}: {} verified, {} not seeding, {} unreachable, {} choked, {} failed\n",
            v.probed,
            v.listed,
            plural(v.posts, "post", "posts"),
            v.verified,
            v.not_seeding,
            v.unreachable,
            v.choked,
            v.failed
        ));
    }
    for e in &v.tracker_errors {
        out.push_str(&format!("verify: an announce failed: {e}\n"));
    }
    if !r.reseeded.is_empty() {
        out.push_str(&format!(
            "{} of your own posts and comments were no longer in the client; it seeds them again\n",
            r.reseeded.len()
        ));
    }
    if !r.missing_from_client.is_empty() {
        out.push_str(&format!(
            "{} of your upvotes are no longer in the client; `upseed upvote` them again to seed\n",
            r.missing_from_client.len()
        ));
    }
    out
}

/// A gc report for people.
pub fn gc_text(r: &GcReport) -> String {
    let did = if r.dry_run { "would " } else { "" };
    let done = if r.dry_run { "would be " } else { "" };
    let mut out = String::new();
    if r.dry_run {
        out.push_str("dry run: nothing was changed\n");
    }
    for d in &r.deleted {
        out.push_str(&format!(
            "{}delete {} ({} comments): unseeded since {}\n",
            did, d.infohash, d.comments, d.silent_since
        ));
    }
    for s in &r.stopped {
        out.push_str(&format!(
            "{}stop seeding {} ({}): {}\n",
            did, s.infohash, s.vote, s.reason
        ));
    }
    out.push_str(&format!(
        "{} records and {} history rows {}deleted; {} torrents {}stopped; {} seeded after\n",
        r.records_deleted,
        r.history_deleted,
        done,
        r.stopped.len(),
        done,
        r.seeded
    ));
    if r.over_bound > 0 {
        out.push_str(&format!(
            "{} seeded torrents stay over [seeding] max_torrents because they are pinned or yours; raise the bound, unpin some, or pass --authored\n",
            r.over_bound
        ));
    }
    out
}

fn until(at: u64, now: u64) -> String {
    match at.checked_sub(now) {
        None | Some(0) => "now".into(),
        Some(s) if s < 60 => format!("in {s} s"),
        Some(s) if s < 3_600 => format!("in {} min", s / 60),
        Some(s) => format!("in {:.1} h", s as f64 / 3_600.0),
    }
}

/// The daemon's status for people.
pub fn status_text(r: &Status) -> String {
    let mut out = String::new();
    match (r.running, r.pid, r.started) {
        (true, Some(pid), Some(started)) => out.push_str(&format!(
            "daemon: running as pid {pid}, started {}\n",
            relative(started, r.now)
        )),
        (false, _, Some(_)) => out.push_str(&format!(
            "daemon: not running (last heard from {})\n",
            r.heartbeat
                .map_or_else(|| "never".to_owned(), |h| relative(h, r.now))
        )),
        _ => out.push_str("daemon: has never run; start it with `upseed daemon`\n"),
    }
    for s in &r.steps {
        let last = match (s.started, s.finished) {
            (Some(st), f) if f.is_none_or(|f| f < st) && r.running => {
                format!("running since {}", relative(st, r.now))
            }
            (_, Some(f)) => format!(
                "{} {}",
                s.outcome.as_deref().unwrap_or("?"),
                relative(f, r.now)
            ),
            _ => "not run yet".to_owned(),
        };
        let next = if r.running {
            s.next_at
                .map_or_else(|| "after the next sync".to_owned(), |n| until(n, r.now))
        } else {
            "when the daemon runs".to_owned()
        };
        out.push_str(&format!(
            "{:<5} {last}; next {next}; {} runs, {} errors survived\n",
            s.step, s.runs, s.errors
        ));
        if let Some(summary) = &s.summary {
            out.push_str(&format!("      {summary}\n"));
        }
    }
    out.push_str(&format!(
        "store: {} posts live, {} faded; seeding {} of at most {}\n",
        r.live_posts, r.faded_posts, r.seeded, r.max_torrents
    ));
    out
}

/// The checks as text, one per line, with the fix under each failure.
pub fn doctor_text(checks: &[Check]) -> String {
    let mut out = String::new();
    for c in checks {
        let mark = match c.outcome {
            Outcome::Ok => "ok  ",
            Outcome::Warn => "warn",
            Outcome::Fail => "FAIL",
        };
        out.push_str(&format!("{mark}  {}: {}\n", c.name, c.detail));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_times() {
        assert_eq!(relative(100, 100), "just now");
        assert_eq!(relative(200, 100), "just now");
        assert_eq!(relative(0, 60), "1 minute ago");
        assert_eq!(relative(0, 7_200), "2 hours ago");
        assert_eq!(relative(0, 86_400 * 3), "3 days ago");
        assert_eq!(relative(0, 31_557_600 * 2), "2 years ago");
    }

    #[test]
    fn network_strings_cannot_drive_the_terminal() {
        assert_eq!(clean("plain\ttext\n"), "plain\ttext\n");
        assert_eq!(
            clean("denied\x1b]0;pwned\x07 \u{202e}txt"),
            "denied\\u{001b}]0;pwned\\u{0007} \\u{202e}txt"
        );
        assert_eq!(one_line("a\u{2028}b"), "a b");
    }

    #[test]
    fn color_only_when_asked() {
        let plain = Style::plain();
        assert_eq!(plain.bold("x"), "x");
        let color = Style {
            color: true,
            width: 80,
        };
        assert_eq!(color.bold("x"), "\x1b[1mx\x1b[0m");
    }
}
