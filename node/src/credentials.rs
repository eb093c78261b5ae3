//! The client's credentials across runs: a login the client refused is
//! remembered in the store (as a salted fingerprint, never the password)
//! and not sent again until the password, the user name or the URL
//! changes, so that running upseed again and again cannot get this
//! machine banned. [`Guarded`] wraps the front end's client to do this,
//! and to say where the refused password came from.

use std::path::PathBuf;

use upseed_core::{
    AddTorrent, Added, ClientError, ClientInfo, InfoHash, Metainfo, Password, QueueReport,
    TorrentClient, TorrentStatus,
};

use crate::config::{Config, PasswordSource};
use crate::store::Store;

/// PBKDF2 rounds for a fingerprint: slow enough that a copied store does
/// not give the password away cheaply, fast enough for every command.
const ROUNDS: u32 = 20_000;

/// What a refusal is checked and remembered by.
#[derive(Clone)]
struct Login {
    /// Salt input: everything the credentials were sent to, and as whom.
    context: Vec<u8>,
    /// The password, when one is sent.
    password: Option<Password>,
    /// Where the password comes from.
    source: PasswordSource,
    /// The user name sent.
    username: Option<String>,
}

impl Login {
    fn fingerprint(&self, salt: &[u8; 16]) -> Option<[u8; 32]> {
        let password = self.password.as_ref()?;
        let mut salted = salt.to_vec();
        salted.extend_from_slice(&self.context);
        let mut out = [0u8; 32];
        pbkdf2::pbkdf2_hmac::<sha2::Sha256>(
            password.expose().as_bytes(),
            &salted,
            ROUNDS,
            &mut out,
        );
        Some(out)
    }

    /// "user `admin` with the password from UPSEED_CLIENT_PASSWORD".
    fn described(&self) -> String {
        let user = match self.username.as_deref() {
            Some(u) if !u.is_empty() => format!("user `{u}`"),
            _ => "no user name".to_owned(),
        };
        format!("{user} with {}", self.source)
    }

    fn fix(&self, earlier: Option<u64>) -> String {
        let set = match &self.source {
            PasswordSource::None => {
                return "set UPSEED_CLIENT_PASSWORD, or [client] password_file (`upseed init --force` asks for it)".to_owned();
            }
            PasswordSource::Env => "set the right password in UPSEED_CLIENT_PASSWORD".to_owned(),
            PasswordSource::File(path) => {
                format!("write the right password into {}", path.display())
            }
        };
        let when = match earlier {
            Some(at) => format!(
                "it was refused at {}, so upseed does not send it again",
                humantime::format_rfc3339_seconds(
                    std::time::UNIX_EPOCH + std::time::Duration::from_secs(at)
                )
            ),
            None => "upseed will not send this one again".to_owned(),
        };
        format!(
            "{set}, or fix [client] username; {when} (a client bans an address after a few failed logins) until the password, the user name or the URL changes"
        )
    }
}

/// The front end's client, with refused logins remembered in the store.
pub struct Guarded<C> {
    inner: C,
    store: PathBuf,
    login: Login,
}

impl<C> std::fmt::Debug for Guarded<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Guarded")
            .field("store", &self.store)
            .field("password", &self.login.source)
            .finish_non_exhaustive()
    }
}

impl<C> Guarded<C> {
    /// The client itself.
    pub fn inner(&self) -> &C {
        &self.inner
    }
}

/// Checks that the config's credentials were not refused before; the
/// error says when they were, and what to change.
pub(crate) fn check(
    config: &Config,
    password: Option<Password>,
    source: PasswordSource,
    store_path: &std::path::Path,
) -> Result<Checked, crate::Error> {
    let mut context = Vec::new();
    for part in [
        config.client.kind.to_string().as_str(),
        config.client.url.as_str(),
        config.client.username.as_deref().unwrap_or(""),
    ] {
        context.extend_from_slice(part.as_bytes());
        context.push(0);
    }
    let login = Login {
        context,
        password,
        source,
        username: config.client.username.clone(),
    };
    if login.password.is_some() {
        let mut store = Store::open(store_path)?;
        if store.any_refused_login()? {
            let salt = store.login_salt()?;
            if let Some(fingerprint) = login.fingerprint(&salt)
                && let Some(at) = store.refused_login(&fingerprint)?
            {
                return Err(ClientError::Unauthorized {
                    client: config.client.kind,
                    url: upseed_core::redact_url(config.client.url.as_str()),
                    credentials: login.described(),
                    fix: login.fix(Some(at)),
                }
                .into());
            }
        }
    }
    Ok(Checked(login))
}

/// Credentials that passed [`check`], ready to guard a client.
pub(crate) struct Checked(Login);

impl Checked {
    /// Wraps `client`.
    pub(crate) fn guard<C>(self, client: C, store: PathBuf) -> Guarded<C> {
        Guarded {
            inner: client,
            store,
            login: self.0,
        }
    }
}

impl<C> Guarded<C> {
    /// A refusal, remembered and reworded; other errors pass through.
    fn seen(&self, error: ClientError) -> ClientError {
        let ClientError::Unauthorized { client, url, .. } = error else {
            return error;
        };
        if self.login.password.is_some() {
            // Best effort: the refusal is reported whether or not it is kept.
            let _ = Store::open(&self.store).and_then(|mut store| {
                let salt = store.login_salt()?;
                if let Some(fingerprint) = self.login.fingerprint(&salt) {
                    store.put_refused_login(&fingerprint, crate::now())?;
                }
                Ok(())
            });
        }
        ClientError::Unauthorized {
            client,
            url,
            credentials: self.login.described(),
            fix: self.login.fix(None),
        }
    }
}

impl<C: TorrentClient> TorrentClient for Guarded<C> {
    async fn info(&self) -> Result<ClientInfo, ClientError> {
        self.inner.info().await.map_err(|e| self.seen(e))
    }
    async fn add(&self, torrents: &[AddTorrent]) -> Result<Vec<Added>, ClientError> {
        self.inner.add(torrents).await.map_err(|e| self.seen(e))
    }
    async fn list(&self, hashes: Option<&[InfoHash]>) -> Result<Vec<TorrentStatus>, ClientError> {
        self.inner.list(hashes).await.map_err(|e| self.seen(e))
    }
    async fn remove(&self, hashes: &[InfoHash], delete_data: bool) -> Result<(), ClientError> {
        self.inner
            .remove(hashes, delete_data)
            .await
            .map_err(|e| self.seen(e))
    }
    async fn add_tags(&self, hashes: &[InfoHash], tags: &[String]) -> Result<(), ClientError> {
        self.inner
            .add_tags(hashes, tags)
            .await
            .map_err(|e| self.seen(e))
    }
    async fn remove_tags(&self, hashes: &[InfoHash], tags: &[String]) -> Result<(), ClientError> {
        self.inner
            .remove_tags(hashes, tags)
            .await
            .map_err(|e| self.seen(e))
    }
    async fn queue_report(&self) -> Result<QueueReport, ClientError> {
        self.inner.queue_report().await.map_err(|e| self.seen(e))
    }
    async fn metainfo(&self, hash: InfoHash) -> Result<Option<Metainfo>, ClientError> {
        self.inner.metainfo(hash).await.map_err(|e| self.seen(e))
    }
    async fn announce_now(&self, hashes: &[InfoHash]) -> Result<(), ClientError> {
        self.inner
            .announce_now(hashes)
            .await
            .map_err(|e| self.seen(e))
    }
    async fn force_start(&self, hashes: &[InfoHash]) -> Result<(), ClientError> {
        self.inner
            .force_start(hashes)
            .await
            .map_err(|e| self.seen(e))
    }
    async fn subscribe_rss(&self, url: &str, name: &str) -> Result<(), ClientError> {
        self.inner
            .subscribe_rss(url, name)
            .await
            .map_err(|e| self.seen(e))
    }
    async fn any_torrent(
        &self,
        hash: InfoHash,
    ) -> Result<Option<(TorrentStatus, Option<Metainfo>)>, ClientError> {
        self.inner.any_torrent(hash).await.map_err(|e| self.seen(e))
    }
    async fn claim(&self, hash: InfoHash, tags: &[String]) -> Result<(), ClientError> {
        self.inner.claim(hash, tags).await.map_err(|e| self.seen(e))
    }
    async fn completion_hook(&self) -> Result<Option<String>, ClientError> {
        self.inner.completion_hook().await.map_err(|e| self.seen(e))
    }
    async fn set_completion_hook(&self, program: &str) -> Result<(), ClientError> {
        self.inner
            .set_completion_hook(program)
            .await
            .map_err(|e| self.seen(e))
    }
    fn requests_sent(&self) -> u64 {
        self.inner.requests_sent()
    }
}
