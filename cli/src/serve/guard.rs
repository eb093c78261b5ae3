//! Who may use the web page: the login a non-loopback address needs
//! (HTTP basic auth against a hashed password), and the CSRF checks every
//! POST passes (a per-process token in each form, and the browser's own
//! word that the request came from this origin).

use std::net::SocketAddr;
use std::path::Path;

use anyhow::{Context, Result, bail};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use upseed_node::Vars;

use super::App;

/// The variable that holds the web page's password.
pub(crate) const PASSWORD_VAR: &str = "UPSEED_SERVE_PASSWORD";

/// What the server checks.
#[derive(Clone)]
pub struct Guard {
    /// SHA-256 of the login password, when a login is required.
    password: Option<[u8; 32]>,
    /// The token every form carries.
    csrf: String,
}

impl std::fmt::Debug for Guard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Guard")
            .field("login", &self.password.is_some())
            .finish_non_exhaustive()
    }
}

impl Guard {
    /// No login (loopback only), and a fresh CSRF token.
    pub fn open() -> Result<Self> {
        Ok(Self {
            password: None,
            csrf: random_token()?,
        })
    }

    /// A login with `password`, and a fresh CSRF token.
    pub fn with_password(password: &str) -> Result<Self> {
        Ok(Self {
            password: Some(Sha256::digest(password.as_bytes()).into()),
            csrf: random_token()?,
        })
    }

    /// The guard for listening on `addr`: loopback needs no login; any other
    /// address needs a password from `UPSEED_SERVE_PASSWORD` or a file only
    /// its owner can read, or the server refuses to start.
    pub fn for_listening(
        addr: SocketAddr,
        vars: &Vars,
        password_file: Option<&Path>,
    ) -> Result<Self> {
        let password = match (vars.get(PASSWORD_VAR), password_file) {
            (Some(password), _) => Some(password),
            (None, Some(file)) => Some(read_password_file(file)?),
            (None, None) => None,
        };
        match password {
            Some(password) if !password.is_empty() => Self::with_password(&password),
            _ if addr.ip().is_loopback() => Self::open(),
            _ => bail!(
                "listening on {addr} lets other machines in, so it needs a login: set {PASSWORD_VAR}, or pass --password-file FILE (mode 0600); or listen on 127.0.0.1"
            ),
        }
    }

    /// The token forms carry.
    pub fn csrf(&self) -> &str {
        &self.csrf
    }

    /// Whether a login is required.
    pub fn needs_login(&self) -> bool {
        self.password.is_some()
    }

    fn logged_in(&self, headers: &HeaderMap) -> bool {
        let Some(expected) = &self.password else {
            return true;
        };
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Basic "))
            .and_then(|b| {
                base64::engine::general_purpose::STANDARD
                    .decode(b.trim())
                    .ok()
            })
            .and_then(|bytes| String::from_utf8(bytes).ok());
        let Some(given) = given else {
            return false;
        };
        let password = given.split_once(':').map_or(given.as_str(), |(_, p)| p);
        let digest: [u8; 32] = Sha256::digest(password.as_bytes()).into();
        digest.ct_eq(expected).into()
    }

    fn csrf_ok(&self, token: &str) -> bool {
        token.as_bytes().ct_eq(self.csrf.as_bytes()).into()
    }
}

fn random_token() -> Result<String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("cannot read random bytes: {e}"))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

fn read_password_file(path: &Path) -> Result<String> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)
        .with_context(|| format!("cannot read the password file {}", path.display()))?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        bail!(
            "the password file {} has mode {:04o}, which lets other users read it; run `chmod 600 {}`",
            path.display(),
            mode & 0o7777,
            path.display()
        );
    }
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the password file {}", path.display()))?;
    Ok(text.trim_end_matches(['\n', '\r']).to_owned())
}

/// Whether the browser says a request came from another site: its
/// `Sec-Fetch-Site`, else an `Origin` whose host is not ours.
fn cross_site(headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return !matches!(site, "same-origin" | "none");
    }
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    match headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        None => false,
        Some(origin) => {
            let origin_host = origin.split_once("://").map_or(origin, |(_, rest)| rest);
            Some(origin_host) != host
        }
    }
}

/// What every page may load: its own files only, no inline script, no
/// frames; a last line against injected markup.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Every answer gets the content security policy.
pub(crate) async fn headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        header::HeaderValue::from_static(CSP),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        header::HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        header::HeaderValue::from_static("same-origin"),
    );
    response
}

/// The login, then, for a POST, the origin and the form's CSRF token.
pub(crate) async fn check(State(app): State<App>, request: Request, next: Next) -> Response {
    let guard = &app.guard;
    if !guard.logged_in(request.headers()) {
        return (
            StatusCode::UNAUTHORIZED,
            [(
                header::WWW_AUTHENTICATE,
                "Basic realm=\"upseed\", charset=\"UTF-8\"",
            )],
            "log in with the password set in UPSEED_SERVE_PASSWORD or the --password-file",
        )
            .into_response();
    }
    if request.method() != Method::POST {
        return next.run(request).await;
    }
    if cross_site(request.headers()) {
        return (
            StatusCode::FORBIDDEN,
            "refused: the form was sent from another site",
        )
            .into_response();
    }
    // The token is in the urlencoded body, read here within a cap.
    let (parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, super::MAX_FORM).await else {
        return (
            StatusCode::PAYLOAD_TOO_LARGE,
            "the form is larger than upseed accepts",
        )
            .into_response();
    };
    let token = form_urlencoded::parse(&bytes)
        .find(|(k, _)| k == "csrf")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    if !guard.csrf_ok(&token) {
        return (
            StatusCode::FORBIDDEN,
            "refused: the form's token is missing or stale; reload the page and send it again",
        )
            .into_response();
    }
    next.run(Request::from_parts(parts, axum::body::Body::from(bytes)))
        .await
}
