//! The user's client, whichever kind the config names, behind one type:
//! the front end's choice of client, which the node layer is generic over.

use upseed_core::{
    AddTorrent, Added, ClientError, ClientInfo, ClientKind, InfoHash, Metainfo, QueueReport,
    TorrentClient, TorrentStatus,
};
use upseed_node::fake::FakeClient;
use upseed_node::{Config, Error, Home, Node, Vars};
use upseed_qbittorrent::Qbittorrent;
use upseed_transmission::Transmission;

/// qBittorrent, Transmission or the embedded engine; or, in the
/// in-process test environment, an in-memory client.
#[derive(Debug)]
pub enum AnyClient {
    /// qBittorrent's Web UI.
    Qbittorrent(Qbittorrent),
    /// Transmission's RPC.
    Transmission(Transmission),
    /// The embedded engine, held by this process.
    #[cfg(feature = "embedded")]
    Embedded(upseed_embedded::Embedded),
    /// The embedded engine, held by another upseed process and reached
    /// over its local socket.
    #[cfg(feature = "embedded")]
    Remote(upseed_embedded::Remote),
    /// An in-memory client, which only [`crate::Env`] hands out.
    Fake(FakeClient),
}

impl AnyClient {
    /// The client the config names, with the password from `vars` or the
    /// password file. The embedded engine is reached over its socket in
    /// `home`'s data folder, unless this process holds it (`held`).
    pub(crate) fn from_config(
        config: &Config,
        vars: &Vars,
        home: &Home,
        held: Option<&crate::engine::Held>,
    ) -> Result<Self, Error> {
        let password = config.password(vars)?;
        let c = &config.client;
        Ok(match c.kind {
            #[cfg(feature = "embedded")]
            ClientKind::Embedded => match held {
                Some(held) => Self::Embedded(held.engine.clone()),
                None => Self::Remote(upseed_embedded::Remote::new(upseed_embedded::socket_in(
                    &crate::engine::dir(home),
                ))),
            },
            #[cfg(not(feature = "embedded"))]
            ClientKind::Embedded => {
                let _ = (home, held);
                return Err(crate::engine::not_built().into());
            }
            ClientKind::Qbittorrent => {
                let mut qb = upseed_qbittorrent::Config::new(
                    c.url.clone(),
                    c.username.clone().unwrap_or_default(),
                    password,
                );
                qb.category.clone_from(&c.category);
                Self::Qbittorrent(Qbittorrent::new(qb)?)
            }
            ClientKind::Transmission => {
                let mut tr =
                    upseed_transmission::Config::new(c.url.clone(), c.username.clone(), password);
                tr.label.clone_from(&c.category);
                Self::Transmission(Transmission::new(tr)?)
            }
        })
    }
}

macro_rules! each {
    ($self:ident, $client:ident => $call:expr) => {
        match $self {
            AnyClient::Qbittorrent($client) => $call,
            AnyClient::Transmission($client) => $call,
            #[cfg(feature = "embedded")]
            AnyClient::Embedded($client) => $call,
            #[cfg(feature = "embedded")]
            AnyClient::Remote($client) => $call,
            AnyClient::Fake($client) => $call,
        }
    };
}

impl TorrentClient for AnyClient {
    async fn info(&self) -> Result<ClientInfo, ClientError> {
        each!(self, c => c.info().await)
    }
    async fn add(&self, torrents: &[AddTorrent]) -> Result<Vec<Added>, ClientError> {
        each!(self, c => c.add(torrents).await)
    }
    async fn list(&self, hashes: Option<&[InfoHash]>) -> Result<Vec<TorrentStatus>, ClientError> {
        each!(self, c => c.list(hashes).await)
    }
    async fn remove(&self, hashes: &[InfoHash], delete_data: bool) -> Result<(), ClientError> {
        each!(self, c => c.remove(hashes, delete_data).await)
    }
    async fn add_tags(&self, hashes: &[InfoHash], tags: &[String]) -> Result<(), ClientError> {
        each!(self, c => c.add_tags(hashes, tags).await)
    }
    async fn remove_tags(&self, hashes: &[InfoHash], tags: &[String]) -> Result<(), ClientError> {
        each!(self, c => c.remove_tags(hashes, tags).await)
    }
    async fn queue_report(&self) -> Result<QueueReport, ClientError> {
        each!(self, c => c.queue_report().await)
    }
    async fn metainfo(&self, hash: InfoHash) -> Result<Option<Metainfo>, ClientError> {
        each!(self, c => c.metainfo(hash).await)
    }
    async fn announce_now(&self, hashes: &[InfoHash]) -> Result<(), ClientError> {
        each!(self, c => c.announce_now(hashes).await)
    }
    async fn force_start(&self, hashes: &[InfoHash]) -> Result<(), ClientError> {
        each!(self, c => c.force_start(hashes).await)
    }
    async fn subscribe_rss(&self, url: &str, name: &str) -> Result<(), ClientError> {
        each!(self, c => c.subscribe_rss(url, name).await)
    }
    async fn any_torrent(
        &self,
        hash: InfoHash,
    ) -> Result<Option<(TorrentStatus, Option<Metainfo>)>, ClientError> {
        each!(self, c => c.any_torrent(hash).await)
    }
    async fn claim(&self, hash: InfoHash, tags: &[String]) -> Result<(), ClientError> {
        each!(self, c => c.claim(hash, tags).await)
    }
    async fn completion_hook(&self) -> Result<Option<String>, ClientError> {
        each!(self, c => c.completion_hook().await)
    }
    async fn set_completion_hook(&self, program: &str) -> Result<(), ClientError> {
        each!(self, c => c.set_completion_hook(program).await)
    }
    fn requests_sent(&self) -> u64 {
        each!(self, c => c.requests_sent())
    }
}

/// The node of the user at `home`, on the client `env` hands out (tests)
/// or else the one the config names.
pub(crate) fn node(env: &crate::Env, home: &Home) -> Node<AnyClient> {
    node_holding(env, home, None)
}

/// [`node`], on the embedded engine that this process holds, if it does.
pub(crate) fn node_holding(
    env: &crate::Env,
    home: &Home,
    held: Option<std::sync::Arc<crate::engine::Held>>,
) -> Node<AnyClient> {
    let fake = env.client.clone();
    let at = home.clone();
    Node::new(
        home.clone(),
        env.vars.clone(),
        move |config, vars| match &fake {
            Some(fake) => Ok(AnyClient::Fake(fake.clone())),
            None => AnyClient::from_config(config, vars, &at, held.as_deref()),
        },
    )
}
