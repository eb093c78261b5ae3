//! The engine's local socket: the process that holds the engine answers
//! on it ([`serve`]), and every other upseed process of the same user
//! drives the engine through it ([`Remote`]).
//!
//! The socket lives in the engine's folder, which only its owner can
//! enter (mode 0700); the socket itself is 0600, and a connection from
//! another user is closed unanswered all the same.

use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::de::DeserializeOwned;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use upseed_core::{
    AddTorrent, Added, ClientError, ClientInfo, InfoHash, Metainfo, QueueReport, TorrentClient,
    TorrentStatus,
};

use crate::engine::Embedded;
use crate::error::EngineError;
use crate::wire::{Reply, Request, WireAdd, metainfo_in, metainfo_out};

/// The longest line either side reads: a batch of ten thousand adds
/// fits many times over.
const MAX_LINE: u64 = 256 << 20;

/// How long a caller waits for the holder's answer.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(600);

/// The engine answering on its socket; dropping it stops answering and
/// removes the socket.
#[derive(Debug)]
pub struct Serving {
    path: PathBuf,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Serving {
    fn drop(&mut self) {
        self.task.abort();
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Answers calls on the engine's socket until the returned [`Serving`]
/// is dropped. A socket file left by an earlier holder that died is
/// replaced: the engine's lock, which `engine` holds, says none other lives.
pub fn serve(engine: Embedded) -> Result<Serving, EngineError> {
    let path = engine.config().socket();
    let socket_error = |e: std::io::Error| EngineError::Socket {
        path: path.clone(),
        reason: e.to_string(),
    };
    if let Ok(meta) = std::fs::symlink_metadata(&path)
        && meta.file_type().is_socket()
    {
        std::fs::remove_file(&path).map_err(socket_error)?;
    }
    let listener = UnixListener::bind(&path).map_err(socket_error)?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
        .map_err(socket_error)?;
    let owner = std::fs::metadata(&engine.config().state_dir)
        .map_err(socket_error)?
        .uid();
    let task = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            if stream.peer_cred().map(|c| c.uid()).ok() != Some(owner) {
                tracing::warn!("closed a connection to the engine's socket from another user");
                continue;
            }
            let engine = engine.clone();
            tokio::spawn(async move {
                if let Err(e) = answer_all(&engine, stream).await {
                    tracing::debug!(error = %e, "a connection to the engine's socket ended");
                }
            });
        }
    });
    Ok(Serving { path, task })
}

/// Answers every request on one connection, in order.
async fn answer_all(engine: &Embedded, stream: UnixStream) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    while let Some(line) = read_line(&mut lines).await? {
        let reply = match serde_json::from_slice::<Request>(&line) {
            Ok(request) => match answer(engine, request).await {
                Ok(value) => Reply::Ok(value),
                Err(e) => Reply::Err(e.into()),
            },
            Err(e) => Reply::Err(
                ClientError::Invalid(format!("the engine cannot read this request: {e}")).into(),
            ),
        };
        let mut out = serde_json::to_vec(&reply).map_err(std::io::Error::other)?;
        out.push(b'\n');
        write.write_all(&out).await?;
    }
    Ok(())
}

/// One line, without its newline; `None` at the end of the stream.
async fn read_line<R: AsyncRead + Unpin>(
    reader: &mut BufReader<R>,
) -> std::io::Result<Option<Vec<u8>>> {
    use tokio::io::AsyncReadExt;
    let mut line = Vec::new();
    let read = reader.take(MAX_LINE).read_until(b'\n', &mut line).await?;
    if read == 0 {
        return Ok(None);
    }
    if line.pop() != Some(b'\n') {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("a line on the engine's socket is cut short or over {MAX_LINE} bytes"),
        ));
    }
    Ok(Some(line))
}

async fn answer(engine: &Embedded, request: Request) -> Result<serde_json::Value, ClientError> {
    fn json(value: impl serde::Serialize) -> Result<serde_json::Value, ClientError> {
        serde_json::to_value(value).map_err(|e| ClientError::Invalid(e.to_string()))
    }
    match request {
        Request::Info => json(engine.info().await?),
        Request::Add { torrents } => {
            let torrents = torrents
                .into_iter()
                .map(AddTorrent::try_from)
                .collect::<Result<Vec<_>, _>>()?;
            let added = engine.add(&torrents).await?;
            json(added.iter().map(|a| *a == Added::New).collect::<Vec<_>>())
        }
        Request::List { hashes } => json(engine.list(hashes.as_deref()).await?),
        Request::Remove {
            hashes,
            delete_data,
        } => json(engine.remove(&hashes, delete_data).await?),
        Request::AddTags { hashes, tags } => json(engine.add_tags(&hashes, &tags).await?),
        Request::RemoveTags { hashes, tags } => json(engine.remove_tags(&hashes, &tags).await?),
        Request::QueueReport => json(engine.queue_report().await?),
        Request::Metainfo { hash } => json(metainfo_out(engine.metainfo(hash).await?)),
        Request::AnnounceNow { hashes } => json(engine.announce_now(&hashes).await?),
        Request::ForceStart { hashes } => json(engine.force_start(&hashes).await?),
        Request::SubscribeRss { url, name } => json(engine.subscribe_rss(&url, &name).await?),
        Request::AnyTorrent { hash } => json(
            engine
                .any_torrent(hash)
                .await?
                .map(|(status, metainfo)| (status, metainfo_out(metainfo))),
        ),
        Request::Claim { hash, tags } => json(engine.claim(hash, &tags).await?),
        Request::CompletionHook => json(engine.completion_hook().await?),
        Request::SetCompletionHook { program } => json(engine.set_completion_hook(&program).await?),
    }
}

/// The engine as another upseed process holds it, reached over its
/// local socket: a [`TorrentClient`] like the others. Creating one
/// connects to nothing; each call connects, and says plainly when no
/// process holds the engine.
#[derive(Debug)]
pub struct Remote {
    socket: PathBuf,
    requests: AtomicU64,
}

impl Remote {
    /// The engine behind the socket at `socket`.
    pub fn new(socket: impl Into<PathBuf>) -> Self {
        Self {
            socket: socket.into(),
            requests: AtomicU64::new(0),
        }
    }

    /// The socket this reaches the engine by.
    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// Whether a process answers on the socket now.
    pub async fn is_held(&self) -> bool {
        UnixStream::connect(&self.socket).await.is_ok()
    }

    async fn call<T: DeserializeOwned>(&self, request: &Request) -> Result<T, ClientError> {
        self.requests.fetch_add(1, Ordering::Relaxed);
        let not_running = || ClientError::NotRunning {
            socket: self.socket.display().to_string(),
        };
        let broken = |e: &dyn std::fmt::Display| {
            ClientError::Invalid(format!(
                "the process holding the embedded engine stopped answering on {} ({e}); check that `upseed daemon` (or `upseed serve`) still runs, and see its log",
                self.socket.display()
            ))
        };
        let stream = match UnixStream::connect(&self.socket).await {
            Ok(stream) => stream,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused
                ) =>
            {
                return Err(not_running());
            }
            Err(e) => return Err(broken(&e)),
        };
        let exchange = async {
            let (read, mut write) = stream.into_split();
            let mut line = serde_json::to_vec(request).map_err(std::io::Error::other)?;
            line.push(b'\n');
            write.write_all(&line).await?;
            read_line(&mut BufReader::new(read)).await
        };
        let line = match tokio::time::timeout(ANSWER_TIMEOUT, exchange).await {
            Err(_) => return Err(broken(&"no answer within 10 minutes")),
            Ok(Err(e)) => return Err(broken(&e)),
            Ok(Ok(None)) => return Err(broken(&"it closed the connection")),
            Ok(Ok(Some(line))) => line,
        };
        match serde_json::from_slice::<Reply>(&line).map_err(|e| broken(&e))? {
            Reply::Ok(value) => serde_json::from_value(value).map_err(|e| broken(&e)),
            Reply::Err(error) => Err(ClientError::from(error)),
        }
    }
}

impl TorrentClient for Remote {
    async fn info(&self) -> Result<ClientInfo, ClientError> {
        self.call(&Request::Info).await
    }

    async fn add(&self, torrents: &[AddTorrent]) -> Result<Vec<Added>, ClientError> {
        let torrents = torrents.iter().map(WireAdd::from).collect();
        let added: Vec<bool> = self.call(&Request::Add { torrents }).await?;
        Ok(added
            .into_iter()
            .map(|new| {
                if new {
                    Added::New
                } else {
                    Added::AlreadyPresent
                }
            })
            .collect())
    }

    async fn list(&self, hashes: Option<&[InfoHash]>) -> Result<Vec<TorrentStatus>, ClientError> {
        self.call(&Request::List {
            hashes: hashes.map(<[InfoHash]>::to_vec),
        })
        .await
    }

    async fn remove(&self, hashes: &[InfoHash], delete_data: bool) -> Result<(), ClientError> {
        self.call(&Request::Remove {
            hashes: hashes.to_vec(),
            delete_data,
        })
        .await
    }

    async fn add_tags(&self, hashes: &[InfoHash], tags: &[String]) -> Result<(), ClientError> {
        self.call(&Request::AddTags {
            hashes: hashes.to_vec(),
            tags: tags.to_vec(),
        })
        .await
    }

    async fn remove_tags(&self, hashes: &[InfoHash], tags: &[String]) -> Result<(), ClientError> {
        self.call(&Request::RemoveTags {
            hashes: hashes.to_vec(),
            tags: tags.to_vec(),
        })
        .await
    }

    async fn queue_report(&self) -> Result<QueueReport, ClientError> {
        self.call(&Request::QueueReport).await
    }

    async fn metainfo(&self, hash: InfoHash) -> Result<Option<Metainfo>, ClientError> {
        metainfo_in(self.call(&Request::Metainfo { hash }).await?)
    }

    async fn announce_now(&self, hashes: &[InfoHash]) -> Result<(), ClientError> {
        self.call(&Request::AnnounceNow {
            hashes: hashes.to_vec(),
        })
        .await
    }

    async fn force_start(&self, hashes: &[InfoHash]) -> Result<(), ClientError> {
        self.call(&Request::ForceStart {
            hashes: hashes.to_vec(),
        })
        .await
    }

    async fn subscribe_rss(&self, url: &str, name: &str) -> Result<(), ClientError> {
        self.call(&Request::SubscribeRss {
            url: url.to_owned(),
            name: name.to_owned(),
        })
        .await
    }

    async fn any_torrent(
        &self,
        hash: InfoHash,
    ) -> Result<Option<(TorrentStatus, Option<Metainfo>)>, ClientError> {
        let found: Option<(TorrentStatus, Option<String>)> =
            self.call(&Request::AnyTorrent { hash }).await?;
        found
            .map(|(status, metainfo)| Ok((status, metainfo_in(metainfo)?)))
            .transpose()
    }

    async fn claim(&self, hash: InfoHash, tags: &[String]) -> Result<(), ClientError> {
        self.call(&Request::Claim {
            hash,
            tags: tags.to_vec(),
        })
        .await
    }

    async fn completion_hook(&self) -> Result<Option<String>, ClientError> {
        self.call(&Request::CompletionHook).await
    }

    async fn set_completion_hook(&self, program: &str) -> Result<(), ClientError> {
        self.call(&Request::SetCompletionHook {
            program: program.to_owned(),
        })
        .await
    }

    fn requests_sent(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }
}
