//! A one-second cache of the ranked pages (the feed, and its Atom and RSS
//! forms): ranking a large store costs milliseconds, and a page read by
//! many within a second is ranked once. When a page goes stale, one
//! request renders it again while the others are served the stale copy,
//! so no crowd of requests ranks the same page at once. Any form sent to the page (a post,
//! a vote, a follow) empties the cache, so a user's own action shows at
//! once; what the daemon or another command changes shows within a second.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// How long a rendered page is served again.
const FRESH: Duration = Duration::from_secs(1);

/// How long a stale page is served while another request renders it.
const RENDERING: Duration = Duration::from_secs(10);

/// At most this many pages are kept; the cache empties when full.
const KEPT: usize = 256;

/// The largest page kept.
const LARGEST: usize = 4 << 20;

/// The paths whose pages are kept.
const CACHED: &[&str] = &["/", "/feed.atom", "/feed.rss"];

/// One rendered page.
#[derive(Debug)]
struct Page {
    at: Instant,
    headers: HeaderMap,
    body: Bytes,
    /// Since when a request renders it again: others get this copy
    /// meanwhile, for at most [`RENDERING`] (a render whose request went
    /// away never finishes).
    refreshing: Option<Instant>,
}

/// Rendered pages by path and query.
#[derive(Debug, Default)]
pub(crate) struct Pages(Mutex<HashMap<String, Page>>);

impl Pages {
    /// The page to serve, if any: a fresh one, or a stale one that
    /// another request is rendering again. A stale page nobody renders
    /// yet is left to this request, which is marked as rendering it.
    fn get(&self, key: &str) -> Option<(HeaderMap, Bytes)> {
        let mut pages = self.0.lock().ok()?;
        let page = pages.get_mut(key)?;
        let rendering = page
            .refreshing
            .is_some_and(|since| since.elapsed() < RENDERING);
        if page.at.elapsed() < FRESH || rendering {
            return Some((page.headers.clone(), page.body.clone()));
        }
        page.refreshing = Some(Instant::now());
        None
    }

    fn put(&self, key: String, headers: HeaderMap, body: Bytes) {
        if let Ok(mut pages) = self.0.lock() {
            if pages.len() >= KEPT {
                pages.clear();
            }
            let page = Page {
                at: Instant::now(),
                headers,
                body,
                refreshing: None,
            };
            pages.insert(key, page);
        }
    }

    /// A render that failed: the next request tries again.
    fn failed(&self, key: &str) {
        if let Ok(mut pages) = self.0.lock()
            && let Some(page) = pages.get_mut(key)
        {
            page.refreshing = None;
        }
    }

    fn clear(&self) {
        if let Ok(mut pages) = self.0.lock() {
            pages.clear();
        }
    }
}

/// Serves a kept page while it is fresh, keeps a newly rendered one, and
/// empties the cache on anything but a GET.
pub(crate) async fn layer(
    State(pages): State<std::sync::Arc<Pages>>,
    request: Request,
    next: Next,
) -> Response {
    if request.method() != Method::GET {
        pages.clear();
        let response = next.run(request).await;
        pages.clear();
        return response;
    }
    if !CACHED.contains(&request.uri().path()) {
        return next.run(request).await;
    }
    let key = request.uri().to_string();
    if let Some((headers, body)) = pages.get(&key) {
        return (StatusCode::OK, headers, body).into_response();
    }
    let response = next.run(request).await;
    if response.status() != StatusCode::OK {
        pages.failed(&key);
        return response;
    }
    let (parts, body) = response.into_parts();
    match axum::body::to_bytes(body, LARGEST).await {
        Ok(bytes) => {
            pages.put(key, parts.headers.clone(), bytes.clone());
            Response::from_parts(parts, Body::from(bytes))
        }
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "the page was too large; try again",
        )
            .into_response(),
    }
}
