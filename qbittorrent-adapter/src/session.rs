//! One logged-in WebUI session: cookies, login, and turning HTTP answers
//! into [`ClientError`]s.
//!
//! Rules that keep users out of trouble:
//! - the session cookie lives in a jar; its name differs between versions;
//! - a 403 on a call means the session expired: log in again, once;
//! - a refused password is never sent again by this session, because
//!   qBittorrent bans the IP after 5 failures;
//! - no `Origin` or `Referer` is sent, which passes the CSRF check;
//! - idle connections are dropped before the server's 7 s keep-alive ends.

use std::time::Duration;

use reqwest::multipart::Form;
use reqwest::{Client, StatusCode};
use tokio::sync::Mutex;
use upseed_core::{ClientError, ClientKind};

use crate::config::Config;

const KIND: ClientKind = ClientKind::Qbittorrent;

/// Where the login stands.
#[derive(Debug, Default)]
struct Login {
    /// A session cookie is in the jar (or none is needed).
    valid: bool,
    /// The password was refused: never send it again.
    refused: bool,
}

/// What a call sends.
pub(crate) enum Body<'a> {
    /// A GET with query parameters.
    Query(&'a [(&'a str, String)]),
    /// A POST with a urlencoded form; long `hashes` lists go here.
    Form(&'a [(&'a str, String)]),
    /// A POST with a multipart form, rebuilt for a retry.
    Multipart(&'a (dyn Fn() -> Form + Send + Sync)),
}

/// An HTTP answer with a 2xx status.
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) text: String,
    /// The raw body, for binary answers such as an exported .torrent.
    pub(crate) bytes: Vec<u8>,
}

pub(crate) struct Session {
    http: Client,
    config: Config,
    login: Mutex<Login>,
    /// HTTP requests sent, logins included.
    sent: std::sync::atomic::AtomicU64,
}

/// The Web UI's address for a URL that names the API itself: `Some` when
/// `url`'s path ends in `/api/v2` (upseed adds that part).
fn without_api_path(url: &url::Url) -> Option<String> {
    let path = url.path().trim_end_matches('/');
    let base = path.strip_suffix("/api/v2")?;
    let mut fixed = url.clone();
    fixed.set_path(&format!("{base}/"));
    fixed.set_query(None);
    Some(upseed_core::redact_url(fixed.as_str()))
}

/// Whether an answer comes from Transmission's web server.
fn from_transmission(headers: &reqwest::header::HeaderMap) -> bool {
    headers.contains_key("x-transmission-session-id")
        || headers
            .get(reqwest::header::SERVER)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|s| s.starts_with("Transmission"))
}

impl Session {
    /// Transmission answered at our URL: say which config fixes that.
    fn transmission_here(&self) -> ClientError {
        let mut rpc = self.config.url.clone();
        rpc.set_path("/transmission/rpc");
        ClientError::WrongUrl {
            client: KIND,
            url: upseed_core::redact_url(self.config.url.as_str()),
            found: "Transmission answers there".into(),
            fix: format!(
                "set [client] kind = \"transmission\" and url = \"{}\" (Transmission's RPC URL), or point url at qBittorrent's Web UI",
                upseed_core::redact_url(rpc.as_str())
            ),
        }
    }

    pub(crate) fn new(config: Config) -> Result<Self, ClientError> {
        if let Some(fixed) = without_api_path(&config.url) {
            return Err(ClientError::WrongUrl {
                client: KIND,
                url: upseed_core::redact_url(config.url.as_str()),
                found: "it names the API path, /api/v2, which upseed adds itself".into(),
                fix: format!("set [client] url = \"{fixed}\", the Web UI's address"),
            });
        }
        let http = Client::builder()
            .cookie_store(true)
            .pool_idle_timeout(Duration::from_secs(5))
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(60))
            // The API never redirects; following one could send the
            // password (a login form, basic auth) elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| ClientError::Invalid(format!("cannot set up HTTP: {e}")))?;
        let login = Login {
            valid: config.password.is_none(),
            refused: false,
        };
        Ok(Self {
            http,
            config,
            login: Mutex::new(login),
            sent: std::sync::atomic::AtomicU64::new(0),
        })
    }

    /// HTTP requests sent so far, logins included.
    pub(crate) fn requests_sent(&self) -> u64 {
        self.sent.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn count(&self) {
        self.sent.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    pub(crate) fn config(&self) -> &Config {
        &self.config
    }

    fn url(&self, endpoint: &str) -> String {
        let base = self.config.url.as_str().trim_end_matches('/');
        format!("{base}/api/v2/{endpoint}")
    }

    fn unreachable(&self, error: &reqwest::Error) -> ClientError {
        ClientError::unreachable(
            KIND,
            self.config.url.as_str(),
            error,
            "its Web UI is enabled (Tools > Options > Web UI) at this address and port",
        )
    }

    /// Logs in unless a valid session exists. Never resends a refused password.
    async fn ensure_login(&self, force: bool) -> Result<(), ClientError> {
        let mut login = self.login.lock().await;
        if login.refused {
            return Err(ClientError::unauthorized(KIND, self.config.url.as_str()));
        }
        let Some(password) = &self.config.password else {
            return Ok(());
        };
        if login.valid && !force {
            return Ok(());
        }
        login.valid = false;
        let form = [
            ("username", self.config.username.as_str()),
            ("password", password.expose()),
        ];
        self.count();
        let response = self
            .http
            .post(self.url("auth/login"))
            .form(&form)
            .send()
            .await
            .map_err(|e| self.unreachable(&e))?;
        let status = response.status();
        if from_transmission(response.headers()) {
            return Err(self.transmission_here());
        }
        let text = response.text().await.unwrap_or_default();
        match status {
            // ≤ 5.1: always 200 with `Ok.` or `Fails.`; 5.2: 2xx with `Ok.` or nothing.
            s if s.is_success() && text.trim() != "Fails." => {
                login.valid = true;
                Ok(())
            }
            s if s.is_success() || s == StatusCode::UNAUTHORIZED => {
                login.refused = true;
                Err(ClientError::unauthorized(KIND, self.config.url.as_str()))
            }
            StatusCode::FORBIDDEN => Err(ClientError::Banned {
                client: KIND,
                url: upseed_core::redact_url(self.config.url.as_str()),
            }),
            s => Err(self.api_error("auth/login", s, &text)),
        }
    }

    fn api_error(&self, endpoint: &str, status: StatusCode, body: &str) -> ClientError {
        let hint = match status.as_u16() {
            400 => "a parameter was missing or malformed; report this as an upseed bug",
            401 => {
                "the Web UI refused the request's origin or host header; check the URL's host and port match the Web UI's"
            }
            404 => "this qBittorrent does not know the call; upgrade qBittorrent to 4.1 or later",
            405 => "the call needs another HTTP method; report this as an upseed bug",
            409 => "qBittorrent refused every torrent in the request",
            413 => "the request was over qBittorrent's 64 MiB limit; add fewer torrents at once",
            415 => "qBittorrent does not accept the torrent file",
            500..=599 => "qBittorrent failed internally; check its log, and retry later",
            _ => "check qBittorrent's log",
        };
        ClientError::Api {
            client: KIND,
            endpoint: endpoint.to_owned(),
            status: status.as_u16(),
            body: body.chars().take(300).collect(),
            hint,
        }
    }

    /// Sends a call, logging in first and once more after a 403.
    pub(crate) async fn call(&self, endpoint: &str, body: Body<'_>) -> Result<Answer, ClientError> {
        self.ensure_login(false).await?;
        let mut relogged = false;
        loop {
            let request = match &body {
                Body::Query(query) => self.http.get(self.url(endpoint)).query(query),
                Body::Form(form) => self.http.post(self.url(endpoint)).form(form),
                Body::Multipart(make) => self.http.post(self.url(endpoint)).multipart(make()),
            };
            self.count();
            let response = request.send().await.map_err(|e| self.unreachable(&e))?;
            let status = response.status();
            if from_transmission(response.headers()) {
                return Err(self.transmission_here());
            }
            let bytes = response.bytes().await.map_err(|e| self.unreachable(&e))?;
            let text = String::from_utf8_lossy(&bytes).into_owned();
            if status.is_success() {
                return Ok(Answer {
                    status,
                    text,
                    bytes: bytes.to_vec(),
                });
            }
            if status == StatusCode::FORBIDDEN {
                if self.config.password.is_none() {
                    // Bypass was expected but is not on for us.
                    return Err(ClientError::unauthorized(KIND, self.config.url.as_str()));
                }
                if !relogged {
                    relogged = true;
                    self.ensure_login(true).await?;
                    continue;
                }
            }
            return Err(self.api_error(endpoint, status, &text));
        }
    }

    /// A call whose 2xx answer is JSON (204 and empty bodies give `T::default()`).
    pub(crate) async fn json<T: serde::de::DeserializeOwned + Default>(
        &self,
        endpoint: &str,
        body: Body<'_>,
    ) -> Result<T, ClientError> {
        let answer = self.call(endpoint, body).await?;
        if answer.status == StatusCode::NO_CONTENT || answer.text.trim().is_empty() {
            return Ok(T::default());
        }
        serde_json::from_str(&answer.text).map_err(|e| self.decode_error(endpoint, &e.to_string()))
    }

    pub(crate) fn decode_error(&self, endpoint: &str, reason: &str) -> ClientError {
        ClientError::Decode {
            client: KIND,
            endpoint: endpoint.to_owned(),
            reason: reason.chars().take(300).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_api_url_gets_the_web_ui_address() {
        let url = |s: &str| url::Url::parse(s).unwrap();
        assert_eq!(
            without_api_path(&url("http://127.0.0.1:8080/api/v2/")).as_deref(),
            Some("http://127.0.0.1:8080/")
        );
        assert_eq!(
            without_api_path(&url("https://box.example/qbt/api/v2")).as_deref(),
            Some("https://box.example/qbt/")
        );
        assert_eq!(without_api_path(&url("http://127.0.0.1:8080/")), None);
        let error = Session::new(Config::new(
            url("http://127.0.0.1:8080/api/v2/"),
            "admin",
            None,
        ))
        .err()
        .unwrap();
        assert!(
            error
                .to_string()
                .contains("url = \"http://127.0.0.1:8080/\""),
            "{error}"
        );
    }
}
