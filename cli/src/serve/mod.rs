//! `upseed serve`: the network as a web page, a second front end beside the
//! commands. Each handler parses a request, calls the same `Node` method
//! the command calls, and renders the result as HTML (see `pages`); every
//! action is a plain form, so it works without JavaScript. Unless told
//! otherwise, the same process runs the daemon's schedule.

mod cache;
mod feeds;
mod guard;
mod pages;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use maud::Markup;
use serde::Deserialize;
use upseed_core::rank::{Sort, Window};
use upseed_node::{FeedQuery, Node, PostInput, SearchOrder, ThreadSort};

pub use guard::Guard;

use crate::client::AnyClient;

/// The largest form upseed reads: a post's text and then some.
pub(crate) const MAX_FORM: usize = 256 * 1024;

/// Posts per feed page.
const PAGE: usize = 25;

/// How long a fetch (an upvote's download, a thread not yet stored) may
/// take from the page, unless [`App::with_fetch_timeout`] says otherwise.
const FETCH: Duration = Duration::from_secs(60);

/// What every handler shares.
#[derive(Clone)]
pub struct App {
    node: Arc<Node<AnyClient>>,
    guard: Guard,
    fetch: Duration,
    clocks: Arc<feeds::Clocks>,
    pages: Arc<cache::Pages>,
}

impl App {
    /// The page over `node`, guarded by `guard`.
    pub fn new(node: Arc<Node<AnyClient>>, guard: Guard) -> Self {
        Self {
            node,
            guard,
            fetch: FETCH,
            clocks: Arc::default(),
            pages: Arc::default(),
        }
    }

    /// Fetches from the page give up after `timeout`.
    #[must_use]
    pub fn with_fetch_timeout(mut self, timeout: Duration) -> Self {
        self.fetch = timeout;
        self
    }
}

/// The web page's routes over `app`.
pub fn router(app: App) -> Router {
    Router::new()
        .route("/", get(feed))
        .route("/t/{reference}", get(thread))
        .route("/t/{reference}/reply", post(reply))
        .route("/t/{reference}/comments", get(comments))
        .route("/htmx.min.js", get(htmx))
        .route("/submit", get(submit_form).post(submit))
        .route("/upvote/{reference}", post(upvote))
        .route("/unvote/{reference}", post(unvote))
        .route("/status", get(status))
        .route("/feed.atom", get(feeds::atom_feed))
        .route("/feed.rss", get(feeds::rss_feed))
        .route("/torrent/{file}", get(feeds::torrent))
        .route("/subscribe", post(subscribe))
        .route("/seeded", get(seeded))
        .route("/pin/{reference}", post(pin))
        .route("/unpin/{reference}", post(unpin))
        .route("/communities", get(communities))
        .route("/search", get(search))
        .route("/doctor", get(doctor))
        .route("/a/{key}", get(author))
        .route("/a/{key}/feed.atom", get(feeds::author_atom))
        .route("/a/{key}/feed.rss", get(feeds::author_rss))
        .route("/follow/{key}", post(follow))
        .route("/unfollow/{key}", post(unfollow))
        .route("/edit/{reference}", post(edit))
        .route("/delete/{reference}", post(delete))
        .route("/mute", post(mute))
        .route("/unmute", post(unmute))
        .route("/mutes", get(mutes))
        .route("/mutes/publish", post(mutes_publish))
        .route("/mutes/unpublish", post(mutes_unpublish))
        .route("/mutes/subscribe", post(mutes_subscribe))
        .route("/mutes/unsubscribe", post(mutes_unsubscribe))
        .route("/style.css", get(style))
        .layer(axum::middleware::from_fn_with_state(
            app.pages.clone(),
            cache::layer,
        ))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_FORM))
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            guard::check,
        ))
        .layer(axum::middleware::from_fn(guard::headers))
        .with_state(app)
}

/// Serves `app` on `addr` until `stop` turns true.
pub async fn listen(
    app: App,
    addr: SocketAddr,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| {
        format!("cannot listen on {addr}; is another server there? pass --listen")
    })?;
    let local = listener.local_addr()?;
    tracing::info!(address = %local, login = app.guard.needs_login(), "serving http://{local}/");
    axum::serve(listener, router(app))
        .with_graceful_shutdown(async move {
            while !*stop.borrow_and_update() {
                if stop.changed().await.is_err() {
                    std::future::pending::<()>().await;
                }
            }
        })
        .await
        .context("the web server failed")
}

/// An error shown on its page, in the command line's words.
fn failed(status: StatusCode, title: &str, error: &upseed_node::Error) -> Response {
    let text = upseed_node::error_chain(error);
    (status, pages::error(title, &text)).into_response()
}

#[derive(Debug, Default, Deserialize)]
struct FeedParams {
    sort: Option<String>,
    window: Option<String>,
    community: Option<String>,
    page: Option<usize>,
    /// `show` shows muted posts, marked.
    muted: Option<String>,
    /// `trusted` or `seeders`; unset: the node's default.
    #[serde(default)]
    by: Option<String>,
}

/// The ranking basis a page's `by` parameter names, if any.
fn parse_by(by: Option<&str>) -> Result<Option<upseed_core::rank::Basis>, String> {
    match by {
        None | Some("") => Ok(None),
        Some("trusted") => Ok(Some(upseed_core::rank::Basis::Trusted)),
        Some("seeders") => Ok(Some(upseed_core::rank::Basis::Seeders)),
        Some("verified") => Ok(Some(upseed_core::rank::Basis::Verified)),
        Some(other) => Err(format!(
            "`{other}` is not a count to rank by: trusted, verified or seeders"
        )),
    }
}

/// Whether a page's `muted` parameter asks to show muted records.
fn show_muted(muted: Option<&str>) -> bool {
    muted == Some("show")
}

fn parse_sort(params: &FeedParams) -> Result<Sort, String> {
    let window = match params.window.as_deref().unwrap_or("day") {
        "day" => Window::Day,
        "week" => Window::Week,
        "month" => Window::Month,
        "year" => Window::Year,
        "all" => Window::All,
        other => {
            return Err(format!(
                "`{other}` is not a window: day, week, month, year or all"
            ));
        }
    };
    Ok(match params.sort.as_deref().unwrap_or("hot") {
        "hot" => Sort::Hot,
        "new" => Sort::New,
        "active" => Sort::Active,
        "best" => Sort::Best,
        "top" => Sort::Top(window),
        other => {
            return Err(format!(
                "`{other}` is not a sort: hot, new, active, best or top"
            ));
        }
    })
}

async fn feed(State(app): State<App>, Query(params): Query<FeedParams>) -> Response {
    let sort = match parse_sort(&params) {
        Ok(sort) => sort,
        Err(why) => {
            return (StatusCode::BAD_REQUEST, pages::message("Not a feed", &why)).into_response();
        }
    };
    let by = match parse_by(params.by.as_deref()) {
        Ok(by) => by,
        Err(why) => {
            return (StatusCode::BAD_REQUEST, pages::message("Not a feed", &why)).into_response();
        }
    };
    let page = params.page.unwrap_or(1).clamp(1, 1000);
    let community = params.community.clone().filter(|c| !c.trim().is_empty());
    let show = show_muted(params.muted.as_deref());
    let query = FeedQuery {
        sort,
        community: community.clone(),
        limit: page * PAGE,
        show_muted: show,
        by,
        ..FeedQuery::default()
    };
    match app.node.feed(&query).await {
        Ok(mut feed) => {
            feed.items.drain(..feed.items.len().min((page - 1) * PAGE));
            let community_muted = match (&feed.community, app.node.mute_set()) {
                (Some(c), Ok(mutes)) => mutes.community(c, upseed_node::now()),
                _ => false,
            };
            let view = pages::FeedView {
                feed: &feed,
                page,
                more: feed.items.len() == PAGE,
                csrf: app.guard.csrf(),
                show_muted: show,
                community_muted,
            };
            pages::feed(&view).into_response()
        }
        Err(error) => failed(StatusCode::UNPROCESSABLE_ENTITY, "The feed", &error),
    }
}

#[derive(Debug, Default, Deserialize)]
struct ThreadParams {
    /// `show` shows muted comments, marked.
    muted: Option<String>,
}

async fn thread(
    State(app): State<App>,
    Path(reference): Path<String>,
    Query(params): Query<ThreadParams>,
) -> Response {
    let show = show_muted(params.muted.as_deref());
    match app
        .node
        .thread(&reference, ThreadSort::Top, app.fetch, show)
        .await
    {
        Ok(thread) => {
            let mine = is_mine(&app, &thread);
            pages::thread(&thread, app.guard.csrf(), None, mine).into_response()
        }
        Err(error) => failed(StatusCode::NOT_FOUND, "Not found", &error),
    }
}

/// Whether the user wrote the thread's post.
fn is_mine(app: &App, thread: &upseed_node::ThreadJson) -> bool {
    app.node
        .identity()
        .is_ok_and(|k| k.public_key() == thread.post.record.author)
}

#[derive(Debug, Deserialize)]
struct EditForm {
    text: String,
    /// The new title; empty keeps none.
    #[serde(default)]
    title: String,
}

async fn edit(
    State(app): State<App>,
    Path(reference): Path<String>,
    Form(form): Form<EditForm>,
) -> Response {
    let title = Some(form.title.trim()).filter(|t| !t.is_empty());
    match app.node.edit(&reference, &form.text, title).await {
        Ok(report) => Redirect::to(&format!("/t/{}", report.target)).into_response(),
        Err(error) => failed(StatusCode::UNPROCESSABLE_ENTITY, "Not edited", &error),
    }
}

async fn delete(State(app): State<App>, Path(reference): Path<String>) -> Response {
    match app.node.delete(&reference).await {
        Ok(report) => Redirect::to(&format!("/t/{}", report.target)).into_response(),
        Err(error) => failed(StatusCode::UNPROCESSABLE_ENTITY, "Not deleted", &error),
    }
}

#[derive(Debug, Deserialize)]
struct CommentsParams {
    /// How many comments the page shows.
    have: Option<usize>,
    /// Whether the page shows muted comments.
    #[serde(default)]
    show: bool,
}

/// A thread's comments, polled by its page: 204 when there is nothing
/// new, else the section to swap in. From the store only: replies reach
/// it through the daemon's sync.
async fn comments(
    State(app): State<App>,
    Path(reference): Path<String>,
    Query(params): Query<CommentsParams>,
) -> Response {
    match app
        .node
        .stored_thread(&reference, ThreadSort::Top, params.show)
    {
        Ok(thread) if Some(thread.comments.len()) == params.have => {
            StatusCode::NO_CONTENT.into_response()
        }
        Ok(thread) => pages::comments_section(&thread, app.guard.csrf()).into_response(),
        Err(error) => failed(StatusCode::NOT_FOUND, "Not found", &error),
    }
}

/// The one script: htmx, vendored (Zero-Clause BSD, see `htmx.LICENSE`).
async fn htmx() -> impl IntoResponse {
    (
        [
            (
                axum::http::header::CONTENT_TYPE,
                "text/javascript; charset=utf-8",
            ),
            (axum::http::header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        include_str!("htmx.min.js"),
    )
}

#[derive(Debug, Deserialize)]
struct ReplyForm {
    text: String,
    /// The post or comment answered (the thread's page shows its post).
    parent: Option<String>,
}

async fn reply(
    State(app): State<App>,
    Path(reference): Path<String>,
    Form(form): Form<ReplyForm>,
) -> Response {
    let parent = form
        .parent
        .as_deref()
        .filter(|p| !p.is_empty())
        .unwrap_or(&reference);
    match app.node.comment(parent, &form.text).await {
        Ok(_) => Redirect::to(&format!("/t/{reference}")).into_response(),
        Err(error) => {
            // The thread again, with the error where the form was.
            let text = upseed_node::error_chain(&error);
            match app
                .node
                .thread(&reference, ThreadSort::Top, app.fetch, false)
                .await
            {
                Ok(thread) => (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    pages::thread(
                        &thread,
                        app.guard.csrf(),
                        Some((&form.text, &text)),
                        is_mine(&app, &thread),
                    ),
                )
                    .into_response(),
                Err(_) => failed(StatusCode::UNPROCESSABLE_ENTITY, "Not answered", &error),
            }
        }
    }
}

async fn submit_form(State(app): State<App>) -> Markup {
    pages::submit(app.guard.csrf(), &pages::Draft::default(), None)
}

#[derive(Debug, Default, Deserialize)]
struct SubmitForm {
    title: Option<String>,
    community: Option<String>,
    text: String,
}

async fn submit(State(app): State<App>, Form(form): Form<SubmitForm>) -> Response {
    let nonempty = |s: Option<String>| s.filter(|s| !s.trim().is_empty());
    let input = PostInput {
        text: form.text.clone(),
        title: nonempty(form.title.clone()),
        community: nonempty(form.community.clone()),
    };
    match app.node.post(&input).await {
        Ok(posted) => Redirect::to(&format!("/t/{}", posted.record.infohash())).into_response(),
        Err(error) => {
            let draft = pages::Draft {
                title: form.title.unwrap_or_default(),
                community: form.community.unwrap_or_default(),
                text: form.text,
            };
            let text = upseed_node::error_chain(&error);
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                pages::submit(app.guard.csrf(), &draft, Some(&text)),
            )
                .into_response()
        }
    }
}

#[derive(Debug, Default, Deserialize)]
struct VoteForm {
    /// The page to go back to.
    back: Option<String>,
}

/// Where a vote's form sends the browser back: a path on this site only.
fn back(form: &VoteForm) -> String {
    local_path(form.back.as_deref())
}

async fn upvote(
    State(app): State<App>,
    Path(reference): Path<String>,
    Form(form): Form<VoteForm>,
) -> Response {
    match app.node.upvote(&reference, app.fetch).await {
        Ok(_) => Redirect::to(&back(&form)).into_response(),
        Err(error) => failed(StatusCode::UNPROCESSABLE_ENTITY, "Not upvoted", &error),
    }
}

async fn unvote(
    State(app): State<App>,
    Path(reference): Path<String>,
    Form(form): Form<VoteForm>,
) -> Response {
    match app.node.unvote(&reference, false).await {
        Ok(_) => Redirect::to(&back(&form)).into_response(),
        Err(error) => failed(StatusCode::UNPROCESSABLE_ENTITY, "Not unvoted", &error),
    }
}

#[derive(Debug, Default, Deserialize)]
struct SubscribeForm {
    sort: Option<String>,
    window: Option<String>,
    community: Option<String>,
}

/// Subscribes the user's client to this feed view's RSS.
async fn subscribe(
    State(app): State<App>,
    headers: axum::http::HeaderMap,
    Form(form): Form<SubscribeForm>,
) -> Response {
    let params = FeedParams {
        sort: form.sort,
        window: form.window,
        community: form.community.filter(|c| !c.trim().is_empty()),
        page: None,
        muted: None,
        by: None,
    };
    if let Err(why) = parse_sort(&params) {
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            pages::message("Not subscribed", &why),
        )
            .into_response();
    }
    let sort = params.sort.as_deref().unwrap_or("hot");
    let mut url = format!("{}/feed.rss?sort={sort}", feeds::base(&headers));
    if let Some(window) = &params.window {
        url.push_str("&window=");
        url.extend(form_urlencoded::byte_serialize(window.as_bytes()));
    }
    if let Some(c) = &params.community {
        url.push_str("&community=");
        url.extend(form_urlencoded::byte_serialize(c.as_bytes()));
    }
    let name = format!(
        "upseed {} ({sort})",
        params.community.as_deref().unwrap_or("everything")
    );
    match app.node.subscribe_rss(&url, &name).await {
        Ok(()) => pages::message(
            "Subscribed",
            &format!(
                "Your client's RSS reader now follows {url}: it downloads and seeds each new post there, which upvotes it. Remove the feed \"{name}\" and its rule in the client to stop."
            ),
        )
        .into_response(),
        Err(error) => failed(StatusCode::UNPROCESSABLE_ENTITY, "Not subscribed", &error),
    }
}

/// The key in a path, or the page that says it is not one.
fn parse_key(key: &str) -> Result<upseed_core::PublicKey, (StatusCode, Markup)> {
    key.parse().map_err(|e: upseed_core::KeyError| {
        (
            StatusCode::NOT_FOUND,
            pages::message("Not an author", &e.to_string()),
        )
    })
}

async fn author(
    State(app): State<App>,
    Path(key): Path<String>,
    Query(params): Query<ThreadParams>,
) -> Response {
    let key = match parse_key(&key) {
        Ok(key) => key,
        Err(refused) => return refused.into_response(),
    };
    let show = show_muted(params.muted.as_deref());
    match app.node.author(key, 100, show) {
        Ok(author) => pages::author_page(&author, app.guard.csrf(), show).into_response(),
        Err(error) => failed(StatusCode::UNPROCESSABLE_ENTITY, "Author", &error),
    }
}

async fn follow(State(app): State<App>, Path(key): Path<String>) -> Response {
    follow_or_not(&app, &key, true).await
}

async fn unfollow(State(app): State<App>, Path(key): Path<String>) -> Response {
    follow_or_not(&app, &key, false).await
}

async fn follow_or_not(app: &App, key: &str, on: bool) -> Response {
    let parsed = match parse_key(key) {
        Ok(key) => key,
        Err(refused) => return refused.into_response(),
    };
    match app.node.follow(parsed, on).await {
        Ok(_) => Redirect::to(&format!("/a/{}", parsed.to_z32())).into_response(),
        Err(error) => failed(StatusCode::UNPROCESSABLE_ENTITY, "Not changed", &error),
    }
}

async fn seeded(State(app): State<App>) -> Response {
    match app.node.seeded_set() {
        Ok(items) => pages::seeded(&items, app.guard.csrf()).into_response(),
        Err(error) => failed(StatusCode::UNPROCESSABLE_ENTITY, "Seeded", &error),
    }
}

async fn pin(
    State(app): State<App>,
    Path(reference): Path<String>,
    Form(form): Form<VoteForm>,
) -> Response {
    match app.node.pin(&reference, true) {
        Ok(_) => Redirect::to(&back(&form)).into_response(),
        Err(error) => failed(StatusCode::UNPROCESSABLE_ENTITY, "Not pinned", &error),
    }
}

async fn unpin(
    State(app): State<App>,
    Path(reference): Path<String>,
    Form(form): Form<VoteForm>,
) -> Response {
    match app.node.pin(&reference, false) {
        Ok(_) => Redirect::to(&back(&form)).into_response(),
        Err(error) => failed(StatusCode::UNPROCESSABLE_ENTITY, "Not unpinned", &error),
    }
}

#[derive(Debug, Default, Deserialize)]
struct SearchParams {
    q: Option<String>,
    order: Option<String>,
    page: Option<usize>,
    muted: Option<String>,
}

async fn search(State(app): State<App>, Query(params): Query<SearchParams>) -> Response {
    let query = params.q.as_deref().unwrap_or("").trim().to_owned();
    let (order, order_name) = match params.order.as_deref().unwrap_or("new") {
        "relevance" => (SearchOrder::Relevance, "relevance"),
        _ => (SearchOrder::New, "new"),
    };
    let page = params.page.unwrap_or(1).clamp(1, 1000);
    let mut view = pages::SearchView {
        query: &query,
        order: order_name,
        found: None,
        error: None,
        page,
        more: false,
        now: upseed_node::now(),
        show_muted: show_muted(params.muted.as_deref()),
    };
    if query.is_empty() {
        return pages::search(&view).into_response();
    }
    let show = view.show_muted;
    match app
        .node
        .search(&query, order, (PAGE, (page - 1) * PAGE), show)
    {
        Ok(found) => {
            view.more = found.items.len() + found.hidden * usize::from(!show) == PAGE;
            view.found = Some(&found);
            pages::search(&view).into_response()
        }
        Err(error) => {
            let status = if matches!(error, upseed_node::Error::Search(_)) {
                StatusCode::BAD_REQUEST
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            let text = upseed_node::error_chain(&error);
            view.error = Some(&text);
            (status, pages::search(&view)).into_response()
        }
    }
}

#[derive(Debug, Deserialize)]
struct MuteForm {
    /// `author`, `thread`, `community` or `word`.
    kind: String,
    /// What to mute, as the command line takes it.
    value: String,
    /// For how long, as `7d` or `12h`; empty for good.
    #[serde(default)]
    duration: String,
    /// The page to go back to.
    back: Option<String>,
}

impl MuteForm {
    /// The target, or why it is not one.
    fn target(&self, app: &App) -> Result<upseed_core::mute::MuteTarget, String> {
        let Some(kind) = upseed_core::mute::MuteKind::parse(&self.kind) else {
            return Err(format!(
                "`{}` is not something to mute: author, thread, community or word",
                self.kind
            ));
        };
        app.node
            .mute_target(kind, &self.value)
            .map_err(|e| upseed_node::error_chain(&e))
    }

    fn back(&self) -> String {
        local_path(self.back.as_deref())
    }
}

/// `path` when it is a path on this site, else the front page.
fn local_path(path: Option<&str>) -> String {
    match path {
        Some(path) if path.starts_with('/') && !path.starts_with("//") && !path.contains('\\') => {
            path.to_owned()
        }
        _ => "/".to_owned(),
    }
}

async fn mute(State(app): State<App>, Form(form): Form<MuteForm>) -> Response {
    let target = match form.target(&app) {
        Ok(target) => target,
        Err(why) => {
            return (StatusCode::BAD_REQUEST, pages::message("Not muted", &why)).into_response();
        }
    };
    let duration = match form.duration.trim() {
        "" => None,
        text => match humantime::parse_duration(text) {
            Ok(d) => Some(d),
            Err(e) => {
                let text =
                    format!("`{text}` is not a duration ({e}); give one like 12h, 7d or 1month");
                return (StatusCode::BAD_REQUEST, pages::message("Not muted", &text))
                    .into_response();
            }
        },
    };
    match app.node.mute(&target, duration, false).await {
        Ok(_) => Redirect::to(&form.back()).into_response(),
        Err(error) => failed(StatusCode::UNPROCESSABLE_ENTITY, "Not muted", &error),
    }
}

async fn unmute(State(app): State<App>, Form(form): Form<MuteForm>) -> Response {
    let target = match form.target(&app) {
        Ok(target) => target,
        Err(why) => {
            return (StatusCode::BAD_REQUEST, pages::message("Not unmuted", &why)).into_response();
        }
    };
    match app.node.unmute(&target) {
        Ok(_) => Redirect::to(&form.back()).into_response(),
        Err(error) => failed(StatusCode::UNPROCESSABLE_ENTITY, "Not unmuted", &error),
    }
}

async fn mutes_publish(State(app): State<App>) -> Response {
    match app.node.publish_mutes().await {
        Ok(_) => Redirect::to("/mutes").into_response(),
        Err(error) => failed(StatusCode::UNPROCESSABLE_ENTITY, "Not published", &error),
    }
}

async fn mutes_unpublish(State(app): State<App>) -> Response {
    match app.node.unpublish_mutes().await {
        Ok(_) => Redirect::to("/mutes").into_response(),
        Err(error) => failed(StatusCode::UNPROCESSABLE_ENTITY, "Not changed", &error),
    }
}

/// The form that names a mute list by its author.
#[derive(serde::Deserialize)]
struct ListForm {
    /// The author's key, or a name only one known author has.
    author: String,
}

impl ListForm {
    fn key(&self, app: &App) -> Result<upseed_core::PublicKey, String> {
        match app
            .node
            .mute_target(upseed_core::mute::MuteKind::Author, &self.author)
        {
            Ok(upseed_core::mute::MuteTarget::Author(key)) => Ok(key),
            Ok(_) => Err(format!("`{}` is not an author", self.author)),
            Err(e) => Err(upseed_node::error_chain(&e)),
        }
    }
}

async fn mutes_subscribe(State(app): State<App>, Form(form): Form<ListForm>) -> Response {
    let key = match form.key(&app) {
        Ok(key) => key,
        Err(why) => {
            return (
                StatusCode::BAD_REQUEST,
                pages::message("Not subscribed", &why),
            )
                .into_response();
        }
    };
    match app.node.subscribe_mutes(key).await {
        Ok(_) => Redirect::to("/mutes").into_response(),
        Err(error) => failed(StatusCode::UNPROCESSABLE_ENTITY, "Not subscribed", &error),
    }
}

async fn mutes_unsubscribe(State(app): State<App>, Form(form): Form<ListForm>) -> Response {
    let key = match form.key(&app) {
        Ok(key) => key,
        Err(why) => {
            return (StatusCode::BAD_REQUEST, pages::message("Not changed", &why)).into_response();
        }
    };
    match app.node.unsubscribe_mutes(key) {
        Ok(_) => Redirect::to("/mutes").into_response(),
        Err(error) => failed(StatusCode::UNPROCESSABLE_ENTITY, "Not changed", &error),
    }
}

async fn mutes(State(app): State<App>) -> Response {
    match app.node.mutes() {
        Ok(list) => pages::mutes(&list, app.guard.csrf()).into_response(),
        Err(error) => failed(StatusCode::UNPROCESSABLE_ENTITY, "Mutes", &error),
    }
}

async fn communities(State(app): State<App>) -> Response {
    match app.node.communities(500) {
        Ok(list) => pages::communities(&list).into_response(),
        Err(error) => failed(StatusCode::UNPROCESSABLE_ENTITY, "Communities", &error),
    }
}

async fn doctor(State(app): State<App>) -> Response {
    // The checks' future is not `Send` (a scrape closure's lifetimes), so
    // it runs on a thread of its own, on this runtime.
    let node = app.node.clone();
    let handle = tokio::runtime::Handle::current();
    let checks = tokio::task::spawn_blocking(move || handle.block_on(node.doctor())).await;
    match checks {
        Ok(Ok(checks)) => pages::doctor(&checks).into_response(),
        Ok(Err(error)) => failed(StatusCode::UNPROCESSABLE_ENTITY, "Doctor", &error),
        Err(_) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            pages::message("Doctor", "the checks stopped; try again"),
        )
            .into_response(),
    }
}

async fn status(State(app): State<App>) -> Response {
    match app.node.status() {
        Ok(status) => pages::status(&crate::render::status_text(&status)).into_response(),
        Err(error) => failed(StatusCode::UNPROCESSABLE_ENTITY, "Status", &error),
    }
}

async fn style() -> impl IntoResponse {
    (
        [(axum::http::header::CONTENT_TYPE, "text/css; charset=utf-8")],
        pages::STYLE,
    )
}
