//! Atom and RSS 2.0 for every feed view, built with `atom_syndication` and
//! `rss` (no XML by hand), and the `.torrent` each entry encloses, so that a
//! feed reader, or qBittorrent's own RSS reader with an auto-download rule,
//! can follow a community: each new post it downloads and seeds is an
//! upvote. A feed's `updated` (Atom) and `lastBuildDate` (RSS) move on
//! whenever its entries change, since qBittorrent ignores new items
//! otherwise.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::Mutex;

use atom_syndication::FixedDateTime;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use upseed_core::RecordJson;
use upseed_node::{FeedItem, FeedJson, FeedQuery};

use super::{App, FeedParams, parse_sort};

/// How many feed views' clocks are kept before they start afresh.
const CLOCKS: usize = 512;

/// Entries in a feed document.
const ENTRIES: usize = 50;

/// When each feed view's entries last changed, as this process saw them.
#[derive(Debug, Default)]
pub(crate) struct Clocks(Mutex<HashMap<String, (u64, u64)>>);

#[cfg(test)]
mod tests {
    use super::Clocks;

    #[test]
    fn a_change_within_the_second_still_moves_the_date() {
        let clocks = Clocks::default();
        assert_eq!(clocks.changed_at("v", 1, 100), 100);
        assert_eq!(
            clocks.changed_at("v", 1, 100),
            100,
            "same entries, same date"
        );
        assert_eq!(
            clocks.changed_at("v", 2, 100),
            101,
            "new entries, a later date"
        );
        assert_eq!(clocks.changed_at("v", 2, 105), 101);
        assert_eq!(clocks.changed_at("v", 3, 105), 105);
    }
}

impl Clocks {
    /// When the entries of view `key`, with fingerprint `digest`, last
    /// changed: now (and always after the previous change), unless the
    /// same entries were seen before.
    fn changed_at(&self, key: &str, digest: u64, now: u64) -> u64 {
        let mut clocks = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((seen, at)) = clocks.get(key)
            && *seen == digest
        {
            return *at;
        }
        // Strictly later than the last change: a reader that compares
        // dates (qBittorrent does) must see a change within the second.
        let at = clocks
            .get(key)
            .map_or(now, |(_, last)| now.max(last.saturating_add(1)));
        if clocks.len() >= CLOCKS {
            clocks.clear();
        }
        clocks.insert(key.to_owned(), (digest, at));
        at
    }
}

/// The site's own address, from the request's `Host`, for absolute links.
pub(super) fn base(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.chars()
                    .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
        })
        .unwrap_or("127.0.0.1");
    format!("http://{host}")
}

fn date(unix: u64) -> FixedDateTime {
    let text = humantime::format_rfc3339_seconds(
        std::time::UNIX_EPOCH + std::time::Duration::from_secs(unix),
    )
    .to_string();
    FixedDateTime::parse_from_rfc3339(&text).unwrap_or_default()
}

fn title_of(record: &RecordJson) -> String {
    crate::render::headline(record, 80)
}

fn author_of(record: &RecordJson, name: Option<&str>) -> String {
    let key = record.author.to_z32();
    match name {
        Some(name) => format!("{name} ({})", &key[..12]),
        None => key[..12].to_owned(),
    }
}

/// What both formats are built from.
struct View {
    title: String,
    html: String,
    self_url: String,
    updated: u64,
    feed: FeedJson,
    base: String,
}

async fn view(
    app: &App,
    params: &FeedParams,
    headers: &HeaderMap,
    format: &str,
) -> Result<View, Response> {
    let sort = parse_sort(params).map_err(|why| (StatusCode::BAD_REQUEST, why).into_response())?;
    let community = params.community.clone().filter(|c| !c.trim().is_empty());
    let query = FeedQuery {
        sort,
        community: community.clone(),
        limit: ENTRIES,
        ..FeedQuery::default()
    };
    let feed = app.node.feed(&query).await.map_err(|e| {
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            upseed_node::error_chain(&e),
        )
            .into_response()
    })?;
    let base = base(headers);
    let mut path = format!("?sort={}", params.sort.as_deref().unwrap_or("hot"));
    if let Some(window) = &params.window {
        path.push_str("&window=");
        path.extend(form_urlencoded::byte_serialize(window.as_bytes()));
    }
    if let Some(c) = &community {
        path.push_str("&community=");
        path.extend(form_urlencoded::byte_serialize(c.as_bytes()));
    }
    let updated = clock(app, &path, &feed);
    let title = match &community {
        Some(c) => format!("upseed: {c} ({})", params.sort.as_deref().unwrap_or("hot")),
        None => format!("upseed ({})", params.sort.as_deref().unwrap_or("hot")),
    };
    Ok(View {
        title,
        html: format!("{base}/{path}"),
        self_url: format!("{base}/feed.{format}{path}"),
        updated,
        feed,
        base,
    })
}

/// When the entries of the view at `path` last changed.
fn clock(app: &App, path: &str, feed: &FeedJson) -> u64 {
    let mut digest = std::collections::hash_map::DefaultHasher::new();
    for item in &feed.items {
        item.record.infohash.hash(&mut digest);
        if let Some(edit) = &item.edit {
            (edit.deleted, edit.replacement, edit.latest.is_some()).hash(&mut digest);
        }
    }
    app.clocks.changed_at(path, digest.finish(), feed.now)
}

/// An author's posts as a feed view.
fn author_view(
    app: &App,
    key: &str,
    headers: &HeaderMap,
    format: &str,
) -> Result<View, (StatusCode, String)> {
    let key: upseed_core::PublicKey = key
        .parse()
        .map_err(|e: upseed_core::KeyError| (StatusCode::NOT_FOUND, e.to_string()))?;
    let author = app.node.author(key, ENTRIES, false).map_err(|e| {
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            upseed_node::error_chain(&e),
        )
    })?;
    let base = base(headers);
    let path = format!("a/{}", key.to_z32());
    let updated = clock(app, &path, &author.feed);
    let who = author
        .name
        .clone()
        .unwrap_or_else(|| key.to_z32()[..12].to_owned());
    Ok(View {
        title: format!("upseed: {who}"),
        html: format!("{base}/{path}"),
        self_url: format!("{base}/{path}/feed.{format}"),
        updated,
        feed: author.feed,
        base,
    })
}

pub(super) async fn author_atom(
    State(app): State<App>,
    Path(key): Path<String>,
    headers: HeaderMap,
) -> Response {
    document(author_view(&app, &key, &headers, "atom"), Format::Atom)
}

pub(super) async fn author_rss(
    State(app): State<App>,
    Path(key): Path<String>,
    headers: HeaderMap,
) -> Response {
    document(author_view(&app, &key, &headers, "rss"), Format::Rss)
}

/// Which syndication format.
#[derive(Debug, Clone, Copy)]
enum Format {
    Atom,
    Rss,
}

/// A feed view as a document of `format`, or the refusal.
fn document(view: Result<View, impl IntoResponse>, format: Format) -> Response {
    match (view, format) {
        (Ok(view), Format::Atom) => (
            [(header::CONTENT_TYPE, "application/atom+xml; charset=utf-8")],
            atom(&view),
        )
            .into_response(),
        (Ok(view), Format::Rss) => (
            [(header::CONTENT_TYPE, "application/rss+xml; charset=utf-8")],
            rss(&view),
        )
            .into_response(),
        (Err(refused), _) => refused.into_response(),
    }
}

fn atom(view: &View) -> String {
    use atom_syndication::{Content, Entry, Feed, Link, Person, Text};
    let link = |href: String, rel: &str, mime: Option<&str>| Link {
        href,
        rel: rel.to_owned(),
        mime_type: mime.map(str::to_owned),
        ..Link::default()
    };
    let entries = view
        .feed
        .items
        .iter()
        .filter_map(shown)
        .map(|(item, r)| {
            let id = item.record.infohash.to_string();
            let hash = r.infohash.to_string();
            Entry {
                id: format!("urn:btih:{id}"),
                title: Text::plain(title_of(r)),
                updated: date(r.created),
                published: Some(date(r.created)),
                authors: vec![Person {
                    name: author_of(r, item.author_name.as_deref()),
                    ..Person::default()
                }],
                content: Some(Content {
                    value: r.body.clone(),
                    content_type: Some("text".to_owned()),
                    ..Content::default()
                }),
                links: vec![
                    link(
                        format!("{}/t/{id}", view.base),
                        "alternate",
                        Some("text/html"),
                    ),
                    link(
                        format!("{}/torrent/{hash}.torrent", view.base),
                        "enclosure",
                        Some("application/x-bittorrent"),
                    ),
                    link(format!("magnet:?xt=urn:btih:{hash}"), "related", None),
                ],
                ..Entry::default()
            }
        })
        .collect();
    Feed {
        id: view.self_url.clone(),
        title: Text::plain(view.title.clone()),
        updated: date(view.updated),
        links: vec![
            link(view.self_url.clone(), "self", Some("application/atom+xml")),
            link(view.html.clone(), "alternate", Some("text/html")),
        ],
        entries,
        ..Feed::default()
    }
    .to_string()
}

/// A feed entry and the version of it to show: the id stays the first
/// version's, the text and the torrent are the latest's, and a deleted
/// post is left out.
fn shown(item: &FeedItem) -> Option<(&FeedItem, &RecordJson)> {
    Some((
        item,
        crate::render::latest(&item.record, item.edit.as_ref())?,
    ))
}

fn rss(view: &View) -> String {
    use rss::{Channel, Enclosure, Guid, Item};
    let items = view
        .feed
        .items
        .iter()
        .filter_map(shown)
        .map(|(item, r)| {
            let id = item.record.infohash.to_string();
            let hash = r.infohash.to_string();
            Item {
                title: Some(title_of(r)),
                link: Some(format!("{}/t/{id}", view.base)),
                description: r.body.clone(),
                author: None,
                guid: Some(Guid {
                    value: format!("urn:btih:{id}"),
                    permalink: false,
                }),
                pub_date: Some(date(r.created).to_rfc2822()),
                enclosure: Some(Enclosure {
                    url: format!("{}/torrent/{hash}.torrent", view.base),
                    // Unknown here: the .torrent is built when fetched.
                    length: "0".to_owned(),
                    mime_type: "application/x-bittorrent".to_owned(),
                }),
                comments: Some(format!("magnet:?xt=urn:btih:{hash}")),
                ..Item::default()
            }
        })
        .collect();
    Channel {
        title: view.title.clone(),
        link: view.html.clone(),
        description: "Posts seeded on upseed, a text-only social network over BitTorrent"
            .to_owned(),
        last_build_date: Some(date(view.updated).to_rfc2822()),
        items,
        ..Channel::default()
    }
    .to_string()
}

pub(super) async fn atom_feed(
    State(app): State<App>,
    Query(params): Query<FeedParams>,
    headers: HeaderMap,
) -> Response {
    document(view(&app, &params, &headers, "atom").await, Format::Atom)
}

pub(super) async fn rss_feed(
    State(app): State<App>,
    Query(params): Query<FeedParams>,
    headers: HeaderMap,
) -> Response {
    document(view(&app, &params, &headers, "rss").await, Format::Rss)
}

/// The `.torrent` of a stored record, with the config's trackers.
pub(super) async fn torrent(State(app): State<App>, Path(file): Path<String>) -> Response {
    let reference = file.strip_suffix(".torrent").unwrap_or(&file);
    match app.node.torrent(reference) {
        Ok((record, bytes)) => (
            [
                (header::CONTENT_TYPE, "application/x-bittorrent".to_owned()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{}.torrent\"", record.infohash()),
                ),
            ],
            bytes,
        )
            .into_response(),
        Err(error) => (StatusCode::NOT_FOUND, upseed_node::error_chain(&error)).into_response(),
    }
}
