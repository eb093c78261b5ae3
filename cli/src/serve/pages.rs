//! The web page's HTML: plain, fast and readable on a phone, rendered on
//! the server with maud, which escapes every value it inserts. Text of
//! network origin (titles, bodies, names, communities) also sits in
//! `<bdi>`, so no bidirectional control in it can reorder the page around
//! it, and long lines wrap anywhere.

use maud::{DOCTYPE, Markup, html};
use upseed_core::RecordJson;
use upseed_core::rank::{Basis, Sort, Window};
use upseed_node::{FeedJson, ThreadComment, ThreadJson};

use crate::render::{headline, relative};

/// The stylesheet, served at `/style.css`.
pub(crate) const STYLE: &str = r#"
body{font:15px/1.45 system-ui,sans-serif;margin:0 auto;max-width:52rem;padding:0 .6rem;color:#222;background:#fdfdfb}
header{display:flex;flex-wrap:wrap;gap:.2rem .9rem;align-items:baseline;padding:.5rem 0;border-bottom:1px solid #ddd}
header a{color:#222;text-decoration:none}header .brand{font-weight:bold}
a{color:#1a4f8b}.meta,.meta a{color:#777;font-size:.85rem}
ol.feed{padding-left:2rem}ol.feed li{margin:.55rem 0}
.title{font-size:1.02rem}.body{white-space:pre-wrap;overflow-wrap:anywhere}
bdi{unicode-bidi:isolate;overflow-wrap:anywhere}
form.inline{display:inline;margin:0}form.inline button{font-size:.8rem;padding:0 .3rem;cursor:pointer}
details.c{margin:.4rem 0 .4rem .2rem;padding-left:.7rem;border-left:2px solid #e4e4e4}
details.c>summary{cursor:pointer;list-style:none}details.c>summary::before{content:"[−] ";color:#999}
details.c:not([open])>summary::before{content:"[+] "}
textarea,input[type=text]{width:100%;box-sizing:border-box;font:inherit}
textarea{min-height:7rem}.error{color:#a00;background:#fee;padding:.4rem;border:1px solid #e99}
nav.sorts a{margin-right:.6rem}form.search{margin-left:auto}.mark{color:#996}form.search input{font:inherit;width:9rem}
mark{background:#fff3a8;color:inherit}pre{white-space:pre-wrap;overflow-wrap:anywhere}
@media (max-width:30rem){body{font-size:16px}ol.feed{padding-left:1.4rem}}
"#;

fn layout(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="referrer" content="same-origin";
                title { (title) " · upseed" }
                link rel="stylesheet" href="/style.css";
                // htmx only upgrades plain forms and links; nothing needs it.
                meta name="htmx-config" content=r#"{"includeIndicatorStyles":false,"allowEval":false}"#;
                script src="/htmx.min.js" defer {}
            }
            body {
                header {
                    a.brand href="/" { "upseed" }
                    a href="/?sort=new" { "new" }
                    a href="/?sort=top&window=week" { "top" }
                    a href="/communities" { "communities" }
                    a href="/submit" { "submit" }
                    a href="/seeded" { "seeded" }
                    a href="/status" { "status" }
                    a href="/mutes" { "mutes" }
                    form.search method="get" action="/search" role="search" {
                        input type="search" name="q" placeholder="search" aria-label="search";
                    }
                }
                main { (body) }
            }
        }
    }
}

/// A hidden field with the form's CSRF token.
fn csrf_field(csrf: &str) -> Markup {
    html! { input type="hidden" name="csrf" value=(csrf); }
}

fn short_key(record: &RecordJson) -> String {
    record.author.to_z32()[..12].to_owned()
}

fn author(record: &RecordJson, name: Option<&str>) -> Markup {
    html! {
        a href={ "/a/" (record.author.to_z32()) } {
            @if let Some(name) = name {
                bdi { (name) } " (" (short_key(record)) ")"
            } @else {
                (short_key(record))
            }
        }
    }
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The magnet link of a record, which opens in the user's client.
fn magnet(record: &RecordJson) -> String {
    format!("magnet:?xt=urn:btih:{}", record.infohash)
}

fn vote_forms(record: &RecordJson, csrf: &str, back: &str) -> Markup {
    let hash = record.infohash.to_string();
    html! {
        form.inline method="post" action={ "/upvote/" (hash) } {
            (csrf_field(csrf)) input type="hidden" name="back" value=(back);
            button type="submit" title="seed it: your client downloads and keeps seeding it" { "▲ upvote" }
        }
        " "
        form.inline method="post" action={ "/unvote/" (hash) } {
            (csrf_field(csrf)) input type="hidden" name="back" value=(back);
            button type="submit" title="stop seeding it" { "▼ unvote" }
        }
    }
}

/// What the feed page shows.
pub(crate) struct FeedView<'a> {
    pub(crate) feed: &'a FeedJson,
    /// 1 for the first page.
    pub(crate) page: usize,
    /// Whether a next page may have posts.
    pub(crate) more: bool,
    pub(crate) csrf: &'a str,
    /// Whether muted posts are shown, marked.
    pub(crate) show_muted: bool,
    /// Whether the feed's community is muted.
    pub(crate) community_muted: bool,
}

/// A form that mutes (or with `on` false, unmutes) `value` as `kind`,
/// then goes back to `back`.
fn mute_form(kind: &str, value: &str, on: bool, csrf: &str, back: &str) -> Markup {
    html! {
        form.inline method="post" action=(if on { "/mute" } else { "/unmute" }) {
            (csrf_field(csrf))
            input type="hidden" name="kind" value=(kind);
            input type="hidden" name="value" value=(value);
            input type="hidden" name="back" value=(back);
            button type="submit" title=(if on { "hide it from every page, and stop seeding it" } else { "show it again" }) {
                (if on { format!("mute {kind}") } else { format!("unmute {kind}") })
            }
        }
    }
}

/// `here` with `muted=show` added or taken off.
fn muted_link(here: &str, show: bool) -> String {
    let base: Vec<&str> = here
        .split_once('?')
        .map(|(_, q)| {
            q.split('&')
                .filter(|p| !p.is_empty() && *p != "muted=show")
                .collect()
        })
        .unwrap_or_default();
    let path = here.split('?').next().unwrap_or("/");
    let mut params = base;
    if show {
        params.push("muted=show");
    }
    if params.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{}", params.join("&"))
    }
}

/// What mutes hid from a page, and the link that shows (or hides) it.
fn hidden_note(hidden: usize, what: (&str, &str), show: bool, here: &str) -> Markup {
    html! {
        @if hidden > 0 {
            p.meta.mark {
                @if show {
                    (plural(hidden as u64, what.0, what.1)) " muted, shown marked · "
                    a href=(muted_link(here, false)) { "hide them" }
                } @else {
                    (plural(hidden as u64, what.0, what.1)) " hidden by your "
                    a href="/mutes" { "mutes" } " · "
                    a href=(muted_link(here, true)) { "show them" }
                }
            }
        }
    }
}

/// The mark on an edited or deleted record.
fn edited(edit: Option<&upseed_node::EditJson>) -> Markup {
    html! {
        @match edit {
            Some(e) if e.deleted => span.meta { " deleted by its author" },
            Some(e) if e.latest.is_none() => span.meta { " edited (the new text is not fetched yet)" },
            Some(e) => span.meta { " edited (" (e.versions) " change" (if e.versions == 1 { "" } else { "s" }) ")" },
            None => {},
        }
    }
}

/// A record's text as it stands: the latest version's, or nothing for a
/// deleted one.
fn body(record: &RecordJson, edit: Option<&upseed_node::EditJson>) -> Markup {
    html! {
        @match crate::render::latest(record, edit) {
            Some(shown) => div.body { bdi { (shown.body.as_deref().unwrap_or("(text not downloaded)")) } },
            None => div.body.meta { "(deleted by its author; the replies stay)" },
        }
    }
}

/// The mark on a muted record that is shown.
fn muted_by(muted: Option<&upseed_core::mute::MutedBy>) -> Markup {
    html! {
        @if let Some(by) = muted {
            @if let Some(list) = &by.list {
                @let own = upseed_core::mute::MutedBy { list: None, ..by.clone() };
                span.mark { "[muted: " (own.to_string()) " on the mute list of " a href={ "/a/" (list) } { (list.get(..12).unwrap_or(list)) } "] " }
            } @else {
                span.mark { "[muted: " (by.to_string()) "] " }
            }
        }
    }
}

fn sort_link(sort: &str, window: Option<&str>, community: Option<&str>) -> String {
    let mut url = format!("/?sort={sort}");
    if let Some(window) = window {
        url.push_str(&format!("&window={window}"));
    }
    if let Some(community) = community {
        url.push_str("&community=");
        url.extend(form_urlencoded::byte_serialize(community.as_bytes()));
    }
    url
}

fn window_name(window: Window) -> &'static str {
    match window {
        Window::Day => "day",
        Window::Week => "week",
        Window::Month => "month",
        Window::Year => "year",
        Window::All => "all",
    }
}

/// A ranked feed, with the sorts and windows to switch to.
pub(crate) fn feed(view: &FeedView<'_>) -> Markup {
    let feed = view.feed;
    let community = feed.community.as_deref();
    let (sort, window) = match feed.sort {
        Sort::Hot => ("hot", None),
        Sort::New => ("new", None),
        Sort::Active => ("active", None),
        Sort::Best => ("best", None),
        Sort::Top(w) => ("top", Some(window_name(w))),
    };
    let here = sort_link(sort, window, community);
    let first = (view.page - 1) * super::PAGE + 1;
    let title = community.map_or_else(|| "Feed".to_owned(), |c| format!("Feed of {c}"));
    layout(
        &title,
        html! {
            nav.sorts {
                @for s in ["hot", "new", "active", "best"] {
                    a href=(sort_link(s, None, community)) { @if s == sort { b { (s) } } @else { (s) } }
                }
                "top: "
                @for w in ["day", "week", "month", "year", "all"] {
                    a href=(sort_link("top", Some(w), community)) {
                        @if Some(w) == window { b { (w) } } @else { (w) }
                    }
                }
            }
            @if let Some(c) = community {
                h2 { "in " bdi { (c) } " " (mute_form("community", c, !view.community_muted, view.csrf, &here)) }
            }
            p.meta {
                "ranked by " (match feed.by {
                    Basis::Trusted => "trusted count: upvotes from you, the people you follow, and people enough of them follow",
                    Basis::Verified => "verified seeders: peers that served a piece of the post to a probe",
                    Basis::Seeders => "seeders",
                })
                @for other in [Basis::Trusted, Basis::Verified, Basis::Seeders] {
                    @if other != feed.by {
                        " · " a href={ (here) (if here.contains('?') { "&" } else { "?" }) "by=" (other.as_str()) } { "rank by " (other.as_str()) }
                    }
                }
            }
            p.meta {
                "Follow this view: "
                a href={ "/feed.atom" (here.trim_start_matches('/')) } { "Atom" } " · "
                a href={ "/feed.rss" (here.trim_start_matches('/')) } { "RSS" }
                " · "
                form.inline method="post" action="/subscribe" {
                    (csrf_field(view.csrf))
                    input type="hidden" name="sort" value=(sort);
                    @if let Some(w) = window { input type="hidden" name="window" value=(w); }
                    @if let Some(c) = community { input type="hidden" name="community" value=(c); }
                    button type="submit" title="your qBittorrent downloads and seeds each new post of this view" {
                        "subscribe in qBittorrent"
                    }
                }
            }
            @if feed.items.is_empty() {
                p { "No posts here yet." }
            }
            (hidden_note(feed.hidden, ("post", "posts"), view.show_muted, &here))
            (items(feed, view.csrf, &here, first))
            @let pages = if view.show_muted { format!("{here}&muted=show") } else { here.clone() };
            p {
                @if view.page > 1 { a href={ (pages) "&page=" (view.page - 1) } { "← newer page" } " " }
                @if view.more { a href={ (pages) "&page=" (view.page + 1) } { "next page →" } }
            }
        },
    )
}

/// A feed's posts as a numbered list, from `first`, each with its votes.
fn items(feed: &FeedJson, csrf: &str, here: &str, first: usize) -> Markup {
    html! {
            ol.feed start=(first) {
                @for item in &feed.items {
                    @let r = &item.record;
                    @let shown = crate::render::latest(r, item.edit.as_ref());
                    @let title = shown.map_or_else(|| "[deleted]".to_owned(), |s| headline(s, 80));
                    li {
                        (muted_by(item.muted.as_ref()))
                        a.title href={ "/t/" (r.infohash) } { bdi { (title) } }
                        (edited(item.edit.as_ref()))
                        div.meta {
                            (crate::render::counts(item, feed.by)) " · "
                            (plural(u64::from(item.downloads), "read", "reads")) " · "
                            a href={ "/t/" (r.infohash) } { (plural(item.comments as u64, "comment", "comments")) }
                            " · by " (author(r, item.author_name.as_deref()))
                            @if let Some(c) = &r.community {
                                " in " a href=(sort_link("hot", None, Some(c))) { bdi { (c) } }
                            }
                            " · " (relative(r.created, feed.now)) " · "
                            a href=(magnet(r)) title="open in your client" { "magnet" } " "
                            (vote_forms(r, csrf, here))
                        }
                    }
                }
            }
    }
}

/// What the search page shows.
pub(crate) struct SearchView<'a> {
    /// The query as typed; empty before a search.
    pub(crate) query: &'a str,
    /// `new` or `relevance`.
    pub(crate) order: &'a str,
    /// The results, when the query was run.
    pub(crate) found: Option<&'a upseed_node::SearchJson>,
    /// Why the query was refused, in the command line's words.
    pub(crate) error: Option<&'a str>,
    /// 1 for the first page.
    pub(crate) page: usize,
    /// Whether a next page may have results.
    pub(crate) more: bool,
    pub(crate) now: u64,
    /// Whether muted results are shown, marked.
    pub(crate) show_muted: bool,
}

fn search_link(query: &str, order: &str, page: usize) -> String {
    let mut url = String::from("/search?q=");
    url.extend(form_urlencoded::byte_serialize(query.as_bytes()));
    url.push_str(&format!("&order={order}"));
    if page > 1 {
        url.push_str(&format!("&page={page}"));
    }
    url
}

/// The search form and its results, the matched words marked.
pub(crate) fn search(view: &SearchView<'_>) -> Markup {
    let title = if view.query.is_empty() {
        "Search".to_owned()
    } else {
        format!("Search: {}", view.query)
    };
    layout(
        &title,
        html! {
            form method="get" action="/search" {
                input type="text" name="q" value=(view.query) aria-label="words, author:NAME, community:NAME"
                    placeholder="words, author:NAME, community:NAME";
                " "
                select name="order" aria-label="order" {
                    option value="new" selected[view.order == "new"] { "newest first" }
                    option value="relevance" selected[view.order == "relevance"] { "best match first" }
                }
                " " button type="submit" { "search" }
            }
            p.meta { "Words match whole words (end one with * for a prefix); "
                code { "author:" } " takes a name or the start of a key, "
                code { "community:" } " a community. Only what your store holds is searched." }
            @if let Some(error) = view.error {
                p.error role="alert" { (error) }
            }
            @if let Some(found) = view.found {
                @if found.items.is_empty() {
                    p { "Nothing in your store matches." }
                }
                @let here = search_link(view.query, view.order, view.page);
                (hidden_note(found.hidden, ("result", "results"), view.show_muted, &here))
                ol.feed start=(found.offset + 1) {
                    @for item in &found.items {
                        @let r = &item.record;
                        @let shown = crate::render::latest(r, item.edit.as_ref());
                        li {
                            (muted_by(item.muted.as_ref()))
                            a.title href={ "/t/" (r.infohash) } {
                                bdi { (shown.map_or_else(|| "[deleted]".to_owned(), |s| headline(s, 80))) }
                            }
                            (edited(item.edit.as_ref()))
                            div.meta {
                                @if let Some(root) = &r.root {
                                    "comment in " a href={ "/t/" (root) } { "a thread" }
                                } @else { "post" }
                                " · " (plural(u64::from(item.seeders), "seeder", "seeders"))
                                " · by " (author(r, item.author_name.as_deref()))
                                @if let Some(c) = &r.community {
                                    " in " a href=(sort_link("hot", None, Some(c))) { bdi { (c) } }
                                }
                                " · " (relative(r.created, view.now)) " · "
                                a href=(magnet(r)) title="open in your client" { "magnet" }
                            }
                            @if !item.snippet.is_empty() && shown.is_some() {
                                div.snippet {
                                    bdi {
                                        @for part in &item.snippet {
                                            @if part.hit { mark { (part.text) } } @else { (part.text) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                p {
                    @if view.page > 1 { a href=(search_link(view.query, view.order, view.page - 1)) { "← previous page" } " " }
                    @if view.more { a href=(search_link(view.query, view.order, view.page + 1)) { "next page →" } }
                }
            }
        },
    )
}

/// A comment and the replies under it.
struct Branch<'a> {
    comment: &'a ThreadComment,
    replies: Vec<Branch<'a>>,
}

/// The depth-first list of comments as a tree.
fn branches(comments: &[ThreadComment]) -> Vec<Branch<'_>> {
    fn take<'a>(comments: &'a [ThreadComment], at: &mut usize, depth: usize) -> Vec<Branch<'a>> {
        let mut out = Vec::new();
        while let Some(comment) = comments.get(*at) {
            if comment.depth < depth {
                break;
            }
            *at += 1;
            let replies = take(comments, at, comment.depth + 1);
            out.push(Branch { comment, replies });
        }
        out
    }
    take(comments, &mut 0, 1)
}

fn comment_tree(branch: &Branch<'_>, now: u64, csrf: &str, back: &str, root: &str) -> Markup {
    let c = &branch.comment.record;
    html! {
        details.c open {
            summary.meta {
                (muted_by(branch.comment.muted.as_ref()))
                (author(c, branch.comment.author_name.as_deref())) " · "
                (plural(u64::from(branch.comment.seeders), "seeder", "seeders")) " · "
                (relative(c.created, now))
            }
            (edited(branch.comment.edit.as_ref()))
            (body(c, branch.comment.edit.as_ref()))
            div.meta {
                a href=(magnet(c)) { "magnet" } " " (vote_forms(c, csrf, back)) " "
                (mute_form("author", &c.author.to_z32(), branch.comment.muted.is_none(), csrf, back))
            }
            details {
                summary.meta { "reply" }
                form method="post" action={ "/t/" (root) "/reply" } {
                    (csrf_field(csrf))
                    input type="hidden" name="parent" value=(c.infohash.to_string());
                    textarea id={ "reply-" (c.infohash) } hx-preserve="true" name="text" required {}
                    button type="submit" { "reply" }
                }
            }
            @for reply in &branch.replies { (comment_tree(reply, now, csrf, back, root)) }
        }
    }
}

/// A post with its comments nested and collapsible; `failed` is a reply
/// that was refused, with the reason, shown in place.
pub(crate) fn thread(
    thread: &ThreadJson,
    csrf: &str,
    failed: Option<(&str, &str)>,
    mine: bool,
) -> Markup {
    let post = &thread.post.record;
    let root = post.infohash.to_string();
    let back = format!("/t/{root}");
    let now = upseed_node::now();
    let edit = thread.post.edit.as_ref();
    let title = crate::render::latest(post, edit)
        .map_or_else(|| "[deleted]".to_owned(), |s| headline(s, 80));
    layout(
        &title,
        html! {
            article {
                (muted_by(thread.post.muted.as_ref()))
                h1 { bdi { (title) } }
                (edited(edit))
                div.meta {
                    (crate::render::counts(&thread.post, upseed_core::rank::Basis::Seeders)) " · "
                    (plural(u64::from(thread.post.downloads), "read", "reads")) " · by "
                    (author(post, thread.post.author_name.as_deref()))
                    @if let Some(c) = &post.community { " in " bdi { (c) } }
                    " · " (relative(post.created, now)) " · "
                    a href=(magnet(post)) { "magnet" } " " (vote_forms(post, csrf, &back)) " "
                    (mute_form("thread", &root, thread.post.muted.is_none(), csrf, &back))
                }
                (body(post, edit))
                @if let Some(e) = edit.filter(|e| !e.deleted) {
                    details.meta {
                        summary { (if e.earlier.is_empty() { "the first version" } else { "earlier versions" }) }
                        @for (n, version) in std::iter::once(post).chain(&e.earlier).enumerate() {
                            p { (if n == 0 { "first".to_owned() } else { format!("edit {n}") }) }
                            @if let Some(title) = &version.title { b { bdi { (title) } } }
                            div.body { bdi { (version.body.as_deref().unwrap_or("(text not downloaded)")) } }
                        }
                    }
                }
                @if mine && !edit.is_some_and(|e| e.deleted) {
                    @let shown = crate::render::latest(post, edit).unwrap_or(post);
                    details.meta {
                        summary { "edit or delete" }
                        form method="post" action={ "/edit/" (root) } {
                            (csrf_field(csrf))
                            input type="text" name="title" value=(shown.title.as_deref().unwrap_or("")) aria-label="title" placeholder="title";
                            textarea name="text" required aria-label="text" { (shown.body.as_deref().unwrap_or("")) }
                            button type="submit" title="readers see the new text under this post's id" { "save the edit" }
                        }
                        form method="post" action={ "/delete/" (root) } {
                            (csrf_field(csrf))
                            button type="submit" title="for good: readers show it as deleted and stop seeding it" { "delete this post" }
                        }
                    }
                }
            }
            form method="post" action={ "/t/" (root) "/reply" } {
                (csrf_field(csrf))
                @if let Some((_, why)) = failed { p.error { (why) } }
                textarea name="text" required { (failed.map_or("", |(text, _)| text)) }
                button type="submit" { "comment" }
            }
            (comments_section(thread, csrf))
        },
    )
}

/// A thread's comments; the page polls for this section every 15 s and
/// swaps it in when replies arrived (a reply being written is kept).
pub(crate) fn comments_section(thread: &ThreadJson, csrf: &str) -> Markup {
    let root = thread.post.record.infohash.to_string();
    let back = format!("/t/{root}");
    let now = upseed_node::now();
    let count = thread.comments.len();
    // Muted comments are shown only when asked, so a marked one says so.
    let show = thread.comments.iter().any(|c| c.muted.is_some());
    let here = if show {
        format!("{back}?muted=show")
    } else {
        back.clone()
    };
    html! {
        section #comments hx-get={ "/t/" (root) "/comments?have=" (count) (if show { "&show=true" } else { "" }) } hx-trigger="every 15s" hx-swap="outerHTML" {
            h3 { (plural(count as u64, "comment", "comments")) }
            (hidden_note(thread.hidden, ("comment", "comments"), show, &here))
            @for branch in &branches(&thread.comments) { (comment_tree(branch, now, csrf, &back, &root)) }
        }
    }
}

/// What a refused post keeps of the user's input.
#[derive(Debug, Default)]
pub(crate) struct Draft {
    pub(crate) title: String,
    pub(crate) community: String,
    pub(crate) text: String,
}

/// The form to post, with a refused draft and its reason shown in place.
pub(crate) fn submit(csrf: &str, draft: &Draft, error: Option<&str>) -> Markup {
    layout(
        "Submit",
        html! {
            h1 { "Submit a post" }
            form method="post" action="/submit" {
                (csrf_field(csrf))
                @if let Some(error) = error { p.error { (error) } }
                p { label { "Title (optional)" input type="text" name="title" value=(draft.title); } }
                p { label { "Community (optional)" input type="text" name="community" value=(draft.community); } }
                p { label { "Text" textarea name="text" required { (draft.text) } } }
                button type="submit" { "post" }
            }
            p.meta { "Your client seeds what you post; it fades when nobody seeds it any more." }
        },
    )
}

/// An error page, in the command line's words.
pub(crate) fn error(title: &str, text: &str) -> Markup {
    layout(
        title,
        html! { h1 { (title) } p.error { (text) } p { a href="/" { "back to the feed" } } },
    )
}

/// A short message page.
pub(crate) fn message(title: &str, text: &str) -> Markup {
    layout(title, html! { h1 { (title) } p { (text) } })
}

/// The daemon's status, as `upseed status` prints it.
pub(crate) fn status(text: &str) -> Markup {
    layout("Status", html! { h1 { "Status" } pre { (text) } })
}

/// The seeded set, with pin, unpin and unvote.
pub(crate) fn seeded(items: &[upseed_node::status::SeededItem], csrf: &str) -> Markup {
    let now = upseed_node::now();
    layout(
        "Seeded",
        html! {
            h1 { "What your client seeds" }
            p.meta { (plural(items.len() as u64, "torrent", "torrents")) ". Pinned ones stay whatever the retention policy says." }
            ol.feed {
                @for item in items {
                    @let hash = item.infohash.to_string();
                    li {
                        @match &item.record {
                            Some(r) => a.title href={ "/t/" (hash) } { bdi { (headline(r, 80)) } },
                            None => span.title { (hash) },
                        }
                        div.meta {
                            (item.reason) " " (relative(item.since, now))
                            @if item.pinned { " · pinned" } " · "
                            @let (action, label) = if item.pinned { ("unpin", "unpin") } else { ("pin", "pin") };
                            form.inline method="post" action={ "/" (action) "/" (hash) } {
                                (csrf_field(csrf)) input type="hidden" name="back" value="/seeded";
                                button type="submit" { (label) }
                            }
                            @if item.reason == "upvoted" {
                                " "
                                form.inline method="post" action={ "/unvote/" (hash) } {
                                    (csrf_field(csrf)) input type="hidden" name="back" value="/seeded";
                                    button type="submit" { "▼ unvote" }
                                }
                            }
                        }
                    }
                }
            }
        },
    )
}

/// The communities the store knows, busiest first.
pub(crate) fn communities(list: &[(String, usize)]) -> Markup {
    layout(
        "Communities",
        html! {
            h1 { "Communities" }
            @if list.is_empty() { p { "No community posts yet." } }
            ul {
                @for (name, posts) in list {
                    li {
                        a href=(sort_link("hot", None, Some(name))) { bdi { (name) } }
                        " " span.meta { (plural(*posts as u64, "post", "posts")) }
                    }
                }
            }
        },
    )
}

/// `upseed doctor` as a table.
pub(crate) fn doctor(checks: &[upseed_node::doctor::Check]) -> Markup {
    use upseed_node::doctor::Outcome;
    layout(
        "Doctor",
        html! {
            h1 { "Doctor" }
            table {
                @for check in checks {
                    tr {
                        td { b { @match check.outcome { Outcome::Ok => "ok", Outcome::Warn => "WARN", Outcome::Fail => "FAIL" } } }
                        td { (check.name) }
                        td { bdi { (check.detail) } }
                    }
                }
            }
        },
    )
}

/// An author's page: their name, follow or unfollow, feeds, and posts.
pub(crate) fn author_page(
    author: &upseed_node::feed::AuthorJson,
    csrf: &str,
    show_muted: bool,
) -> Markup {
    let key = author.key.to_z32();
    let here = format!("/a/{key}");
    let title = author.name.clone().unwrap_or_else(|| key[..12].to_owned());
    layout(
        &title,
        html! {
            h1 {
                @if let Some(name) = &author.name { bdi { (name) } " " }
                span.meta { (key) }
            }
            p.meta {
                @if author.following {
                    form.inline method="post" action={ "/unfollow/" (key) } {
                        (csrf_field(csrf)) button type="submit" { "unfollow" }
                    }
                    " you follow them: sync fetches what their outbox names"
                } @else {
                    form.inline method="post" action={ "/follow/" (key) } {
                        (csrf_field(csrf)) button type="submit" { "follow" }
                    }
                }
                " · " a href={ (here) "/feed.atom" } { "Atom" } " · " a href={ (here) "/feed.rss" } { "RSS" }
                " · " (mute_form("author", &key, !author.muted, csrf, &here))
            }
            (hidden_note(author.feed.hidden, ("post", "posts"), show_muted, &here))
            @if author.feed.items.is_empty() && author.feed.hidden == 0 { p { "No posts of theirs in your store yet." } }
            (items(&author.feed, csrf, &here, 1))
        },
    )
}

/// A button that posts to `action` and comes back to the mutes page,
/// with `author` as a field when given.
fn list_form(action: &str, author: Option<&str>, label: &str, csrf: &str) -> Markup {
    html! {
        form.inline method="post" action=(action) {
            (csrf_field(csrf))
            @if let Some(author) = author { input type="hidden" name="author" value=(author); }
            button type="submit" { (label) }
        }
    }
}

/// The reader's mutes, each with its unmute button, a form to mute a
/// word, whether they are published, and the lists they subscribe to.
pub(crate) fn mutes(list: &upseed_node::MutesJson, csrf: &str) -> Markup {
    let now = upseed_node::now();
    layout(
        "Mutes",
        html! {
            h1 { "Mutes" }
            p.meta { "What you mute leaves every feed, thread, search and page, and your client stops seeding it (your own posts and pins excepted). Your mutes are private unless you publish them as a list." }
            form method="post" action="/mute" {
                (csrf_field(csrf))
                input type="hidden" name="kind" value="word";
                input type="hidden" name="back" value="/mutes";
                input type="text" name="value" required placeholder="a word or phrase (whole words)" aria-label="word or phrase";
                " for "
                select name="duration" aria-label="for how long" {
                    option value="" { "ever" }
                    option value="1day" { "a day" }
                    option value="7days" { "a week" }
                    option value="30days" { "a month" }
                }
                " " button type="submit" { "mute word" }
            }
            @if list.mutes.is_empty() { p { "Nothing muted." } }
            ul {
                @for m in &list.mutes {
                    li {
                        (m.kind.as_str()) " "
                        @match m.kind {
                            upseed_core::mute::MuteKind::Author => a href={ "/a/" (m.value) } { (m.value) },
                            upseed_core::mute::MuteKind::Thread => a href={ "/t/" (m.value) } { (m.value) },
                            upseed_core::mute::MuteKind::Community => a href=(sort_link("hot", None, Some(&m.value))) { bdi { (m.value) } },
                            upseed_core::mute::MuteKind::Word => bdi { "\u{201c}" (m.value) "\u{201d}" },
                        }
                        @if let Some(until) = m.until { span.meta { " until " (crate::render::date(until, now)) } }
                        " " (mute_form(m.kind.as_str(), &m.value, false, csrf, "/mutes"))
                    }
                }
            }
            h2 { "Your list" }
            @if list.published {
                p { "Published: anyone can subscribe to your mutes with your key, and each sync publishes your changes. "
                    (list_form("/mutes/unpublish", None, "stop publishing", csrf)) }
            } @else {
                p { "Private. "
                    (list_form("/mutes/publish", None, "publish my mutes as a list", csrf)) }
            }
            h2 { "Lists you subscribe to" }
            p.meta { "A list hides what it names, except from people you follow, and says so on what it hides. Each sync reads it again; what its author removed comes back." }
            form method="post" action="/mutes/subscribe" {
                (csrf_field(csrf))
                input type="text" name="author" required placeholder="the list author's key" aria-label="the list author's key";
                " " button type="submit" { "subscribe" }
            }
            @if list.lists.is_empty() { p { "None." } }
            ul {
                @for l in &list.lists {
                    li {
                        a href={ "/a/" (l.author) } { (l.author) }
                        span.meta {
                            " " (plural(l.entries as u64, "entry", "entries"))
                            @match (&l.created, &l.error) {
                                (_, Some(error)) => { "; last read failed: " (error) },
                                (None, None) => { "; not read yet" },
                                (Some(_), None) => {},
                            }
                        }
                        " " (list_form("/mutes/unsubscribe", Some(&l.author), "unsubscribe", csrf))
                    }
                }
            }
        },
    )
}
