//! One RPC endpoint: the session-id handshake, basic auth, the choice
//! between the legacy protocol and JSON-RPC 2.0, and HTTP errors in
//! upseed's terms.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use tokio::sync::{Mutex, OnceCell};
use upseed_core::{ClientError, ClientKind};

use crate::Config;
use crate::names::{snake, snake_arguments, snake_keys};

const KIND: ClientKind = ClientKind::Transmission;
const SESSION_HEADER: &str = "X-Transmission-Session-Id";

/// Methods that act on the torrents named by `ids`, and on every torrent
/// when `ids` is missing. They are never sent without ids.
const NEEDS_IDS: &[&str] = &[
    "torrent-remove",
    "torrent-set",
    "torrent-start",
    "torrent-start-now",
    "torrent-stop",
    "torrent-verify",
    "torrent-reannounce",
    "torrent-set-location",
];

/// Which protocol the server speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Protocol {
    /// `{method, arguments, tag}`: rpc 16 (3.00) and 17 (4.0).
    Legacy,
    /// JSON-RPC 2.0 with snake_case names: rpc 18 (4.1) and later.
    JsonRpc,
}

/// What `session-get` told us at the start.
#[derive(Debug, Clone)]
pub(crate) struct Server {
    pub(crate) version: String,
    pub(crate) rpc_version: u32,
    pub(crate) protocol: Protocol,
}

pub(crate) struct Rpc {
    http: Client,
    config: Config,
    session_id: Mutex<Option<String>>,
    server: OnceCell<Server>,
    tag: AtomicU64,
    /// The RPC version from a 409 answer's header (4.1 and later send it).
    rpc_version_hint: AtomicU32,
    /// HTTP requests sent, handshakes included.
    sent: AtomicU64,
}

impl Rpc {
    pub(crate) fn new(config: Config) -> Result<Self, ClientError> {
        let http = Client::builder()
            .pool_idle_timeout(Duration::from_secs(5))
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(60))
            // The API never redirects; following one could send the
            // password (a login form, basic auth) elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| ClientError::Invalid(format!("cannot set up HTTP: {e}")))?;
        Ok(Self {
            http,
            config,
            session_id: Mutex::new(None),
            server: OnceCell::new(),
            tag: AtomicU64::new(1),
            rpc_version_hint: AtomicU32::new(0),
            sent: AtomicU64::new(0),
        })
    }

    /// HTTP requests sent so far, session-id handshakes included.
    pub(crate) fn requests_sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }

    pub(crate) fn config(&self) -> &Config {
        &self.config
    }

    fn unreachable(&self, error: &reqwest::Error) -> ClientError {
        ClientError::unreachable(
            KIND,
            self.config.url.as_str(),
            error,
            "its RPC is enabled (rpc-enabled) and listens on this address, port and rpc-url",
        )
    }

    fn http_error(&self, method: &str, status: StatusCode, body: &str) -> ClientError {
        let url = upseed_core::redact_url(self.config.url.as_str());
        match status.as_u16() {
            401 => ClientError::unauthorized(KIND, &url),
            403 => ClientError::Api {
                client: KIND,
                endpoint: method.to_owned(),
                status: 403,
                body: body.chars().take(300).collect(),
                hint: "add this machine's address to rpc-whitelist in Transmission's settings.json (or set rpc-whitelist-enabled to false), then restart it",
            },
            421 => ClientError::Api {
                client: KIND,
                endpoint: method.to_owned(),
                status: 421,
                body: body.chars().take(300).collect(),
                hint: "add this host name to rpc-host-whitelist in Transmission's settings.json, or use its IP address in the URL",
            },
            code => ClientError::Api {
                client: KIND,
                endpoint: method.to_owned(),
                status: code,
                body: body.chars().take(300).collect(),
                hint: "check Transmission's log",
            },
        }
    }

    /// What else answers at the URL, after an answer Transmission's RPC
    /// would not give; `transmission` when its web server answered.
    async fn wrong_url(&self, transmission: bool) -> Option<ClientError> {
        if transmission {
            self.rpc_elsewhere()
        } else {
            self.qbittorrent_here().await
        }
    }

    /// The RPC URL on the same server: `/transmission/rpc`.
    fn rpc_url(&self) -> String {
        let mut rpc = self.config.url.clone();
        rpc.set_path("/transmission/rpc");
        rpc.set_query(None);
        upseed_core::redact_url(rpc.as_str())
    }

    /// Transmission answered, but not as its RPC: the URL's path is wrong.
    fn rpc_elsewhere(&self) -> Option<ClientError> {
        let rpc = self.rpc_url();
        let url = upseed_core::redact_url(self.config.url.as_str());
        (rpc != url).then(|| ClientError::WrongUrl {
            client: KIND,
            url,
            found: "Transmission's web server answers there, but not its RPC".into(),
            fix: format!("set [client] url = \"{rpc}\""),
        })
    }

    /// Whether qBittorrent's Web UI answers on this server: one request,
    /// made only after an answer that Transmission's RPC would not give.
    async fn qbittorrent_here(&self) -> Option<ClientError> {
        let mut probe = self.config.url.clone();
        probe.set_path("/api/v2/app/webapiVersion");
        probe.set_query(None);
        self.sent.fetch_add(1, Ordering::Relaxed);
        let response = self
            .http
            .get(probe)
            .timeout(std::time::Duration::from_secs(5))
            .send()
            .await
            .ok()?;
        let status = response.status();
        let csp = response
            .headers()
            .contains_key(reqwest::header::CONTENT_SECURITY_POLICY);
        let text = response.text().await.ok()?;
        let version = text.trim().split('.').count() >= 2
            && text.trim().chars().all(|c| c.is_ascii_digit() || c == '.');
        let qbittorrent = (status.is_success() && version)
            || (status == StatusCode::FORBIDDEN && csp && text.trim() == "Forbidden");
        if !qbittorrent {
            return None;
        }
        let mut web_ui = self.config.url.clone();
        web_ui.set_path("/");
        web_ui.set_query(None);
        Some(ClientError::WrongUrl {
            client: KIND,
            url: upseed_core::redact_url(self.config.url.as_str()),
            found: "qBittorrent's Web UI answers on this server".into(),
            fix: format!(
                "set [client] kind = \"qbittorrent\" and url = \"{}\", or point url at Transmission's RPC",
                upseed_core::redact_url(web_ui.as_str())
            ),
        })
    }

    pub(crate) fn decode_error(&self, method: &str, reason: &str) -> ClientError {
        ClientError::Decode {
            client: KIND,
            endpoint: method.to_owned(),
            reason: reason.chars().take(300).collect(),
        }
    }

    /// Posts one body, doing the 409 session-id handshake as often as the id
    /// rotates. Returns the answer's JSON.
    async fn post(&self, method: &str, body: &Value) -> Result<Value, ClientError> {
        for _ in 0..3 {
            let id = self.session_id.lock().await.clone();
            let mut request = self.http.post(self.config.url.clone()).json(body);
            if method == "torrent-get" {
                // Over keep-alive, Transmission holds back the end of a large
                // answer until our delayed ACK: about 45 ms for 1,000
                // torrents. Closing the connection flushes it at once
                // (measured: 96-113 ms against 47-50 ms).
                request = request.header(reqwest::header::CONNECTION, "close");
            }
            if let Some(id) = &id {
                request = request.header(SESSION_HEADER, id);
            }
            if let Some(user) = &self.config.username {
                request =
                    request.basic_auth(user, self.config.password.as_ref().map(|p| p.expose()));
            }
            self.sent.fetch_add(1, Ordering::Relaxed);
            let response = request.send().await.map_err(|e| self.unreachable(&e))?;
            let status = response.status();
            if status == StatusCode::CONFLICT {
                if let Some(version) = response
                    .headers()
                    .get("X-Transmission-Rpc-Version")
                    .and_then(|v| v.to_str().ok()?.parse().ok())
                {
                    self.rpc_version_hint.store(version, Ordering::Relaxed);
                }
                let fresh = response
                    .headers()
                    .get(SESSION_HEADER)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned)
                    .ok_or_else(|| {
                        self.decode_error(
                            method,
                            "a 409 answer without X-Transmission-Session-Id: is this Transmission?",
                        )
                    })?;
                *self.session_id.lock().await = Some(fresh);
                continue;
            }
            let transmission = response
                .headers()
                .get(reqwest::header::SERVER)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|s| s.starts_with("Transmission"));
            let text = response.text().await.map_err(|e| self.unreachable(&e))?;
            if !status.is_success() {
                if status != StatusCode::UNAUTHORIZED
                    && status != StatusCode::FORBIDDEN
                    && let Some(error) = self.wrong_url(transmission).await
                {
                    return Err(error);
                }
                return Err(self.http_error(method, status, &text));
            }
            return match serde_json::from_str(&text) {
                Ok(value) => Ok(value),
                Err(e) => Err(self
                    .wrong_url(transmission)
                    .await
                    .unwrap_or_else(|| self.decode_error(method, &e.to_string()))),
            };
        }
        Err(self.decode_error(
            method,
            "the session id kept changing; is a proxy rewriting headers?",
        ))
    }

    /// The server's version and protocol, asked once.
    pub(crate) async fn server(&self) -> Result<&Server, ClientError> {
        self.server
            .get_or_try_init(|| async {
                // The legacy form works on every version, 4.1 included.
                let body = json!({"method": "session-get", "arguments": {"fields": ["version", "rpc-version"]}, "tag": 0});
                let answer = snake_keys(self.post("session-get", &body).await?);
                let arguments = legacy_result("session-get", &answer).map_err(|reason| self.decode_error("session-get", &reason))?;
                let rpc_version = arguments["rpc_version"]
                    .as_u64()
                    .ok_or_else(|| self.decode_error("session-get", "no rpc-version in the answer"))?;
                Ok(Server {
                    version: arguments["version"].as_str().unwrap_or("unknown").to_owned(),
                    rpc_version: u32::try_from(rpc_version).unwrap_or(u32::MAX),
                    // The 409 header and session-get agree; either suffices.
                    protocol: if rpc_version >= 18 || self.rpc_version_hint.load(Ordering::Relaxed) >= 18 {
                        Protocol::JsonRpc
                    } else {
                        Protocol::Legacy
                    },
                })
            })
            .await
    }

    /// Calls `method` (legacy spelling) with `arguments` (legacy spelling)
    /// and returns its result with snake_case keys.
    pub(crate) async fn call(&self, method: &str, arguments: Value) -> Result<Value, ClientError> {
        if NEEDS_IDS.contains(&method) {
            let ids = &arguments["ids"];
            if ids.as_array().is_none_or(|ids| ids.is_empty()) {
                return Err(ClientError::Invalid(format!(
                    "refusing to send {method} without explicit torrent ids: Transmission would apply it to every torrent"
                )));
            }
        }
        let tag = self.tag.fetch_add(1, Ordering::Relaxed);
        let protocol = self.server().await?.protocol;
        let body = match protocol {
            Protocol::Legacy => json!({"method": method, "arguments": arguments, "tag": tag}),
            Protocol::JsonRpc => {
                json!({"jsonrpc": "2.0", "method": snake(method), "params": snake_arguments(arguments), "id": tag})
            }
        };
        let answer = snake_keys(self.post(method, &body).await?);
        let result = match protocol {
            Protocol::Legacy => legacy_result(method, &answer),
            Protocol::JsonRpc => match (&answer["result"], &answer["error"]) {
                (_, Value::Object(error)) => Err(error["message"]
                    .as_str()
                    .unwrap_or("unknown error")
                    .to_owned()
                    + error["data"]["error_string"]
                        .as_str()
                        .map(|s| format!(": {s}"))
                        .as_deref()
                        .unwrap_or("")),
                (result, _) => Ok(result.clone()),
            },
        };
        result.map_err(|reason| ClientError::Api {
            client: KIND,
            endpoint: method.to_owned(),
            status: 200,
            body: reason,
            hint: "Transmission refused the request",
        })
    }
}

/// The `arguments` of a legacy answer, or its `result` text when it failed.
fn legacy_result(method: &str, answer: &Value) -> Result<Value, String> {
    match answer["result"].as_str() {
        Some("success") => Ok(answer["arguments"].clone()),
        Some(reason) => Err(reason.to_owned()),
        None => Err(format!("the answer to {method} has no `result`")),
    }
}
