//! Progress and notices: what long work reports as it goes, for a front
//! end to show as it likes (bars on a terminal, a log, a web page), or to
//! ignore.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// A piece of long work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Task {
    /// Listing upseed's torrents in the client.
    AskClient,
    /// Scraping this many trackers.
    Scrape {
        /// How many.
        trackers: usize,
    },
    /// Fetching torrents through the client.
    Fetch,
    /// Reading boards on the DHT.
    ReadDht,
    /// Writing this many swarm counts to the store.
    StoreCounts {
        /// How many.
        counts: usize,
    },
    /// Probing peers that claim to seed posts.
    Verify,
    /// Deleting expired threads from the store.
    DeleteThreads,
    /// Stopping this many torrents in the client.
    StopSeeding {
        /// How many.
        torrents: usize,
    },
}

impl fmt::Display for Task {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::AskClient => f.write_str("asking the client"),
            Self::Scrape { trackers } => write!(f, "scraping {trackers} tracker(s)"),
            Self::Fetch => f.write_str("fetching"),
            Self::ReadDht => f.write_str("reading the DHT"),
            Self::StoreCounts { counts } => write!(f, "storing {counts} counts"),
            Self::Verify => f.write_str("probing seeders"),
            Self::DeleteThreads => f.write_str("deleting threads"),
            Self::StopSeeding { torrents } => write!(f, "stopping {torrents} torrent(s)"),
        }
    }
}

/// Something a front end may want to tell the user, that does not stop
/// the work: the work goes on with what it has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Warning {
    /// The DHT could not be joined (the reason, with its fix).
    DhtUnreachable(String),
    /// A read's DHT leads failed as a whole (the reason).
    LeadsFailed(String),
    /// Records named on the DHT were not what they claimed.
    LeadsRejected(usize),
    /// Records named on the DHT could not be fetched.
    LeadsUnfetched(usize),
    /// Our outbox was not published (the reason).
    OutboxNotPublished(String),
    /// Our outbox index was not updated (the reason).
    IndexNotUpdated(String),
    /// A new record was not announced on the DHT (the reason).
    NotAnnounced(String),
    /// The client queued a torrent instead of seeding it.
    Queued(upseed_core::ClientKind),
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::DhtUnreachable(e) => f.write_str(e),
            Self::LeadsFailed(e) => write!(f, "{e}; showing what your store has"),
            Self::LeadsRejected(n) => write!(
                f,
                "{n} record(s) named on the DHT were not what they claimed, and were dropped"
            ),
            Self::LeadsUnfetched(n) => write!(
                f,
                "{n} record(s) named on the DHT could not be fetched (nobody seeds them, or too slowly); `upseed sync` tries again"
            ),
            Self::OutboxNotPublished(e) => write!(
                f,
                "your outbox was not published: {e}; `upseed sync` tries again"
            ),
            Self::IndexNotUpdated(e) => write!(
                f,
                "your outbox index was not updated: {e}; the DHT item names the previous version, and `upseed sync` tries again"
            ),
            Self::NotAnnounced(e) => write!(
                f,
                "not announced on the DHT: {e}; `upseed sync` publishes your outbox again"
            ),
            Self::Queued(upseed_core::ClientKind::Qbittorrent) => f.write_str(
                "qBittorrent queued it instead of seeding it, so nobody can download it from you yet: in Tools > Options > BitTorrent, untick Torrent Queueing, or raise Maximum active uploads and Maximum active torrents above the number of torrents you seed",
            ),
            Self::Queued(upseed_core::ClientKind::Transmission) => f.write_str(
                "Transmission queued it instead of seeding it, so nobody can download it from you yet: set \"seed-queue-enabled\": false in its settings.json (or raise seed-queue-size), with the daemon stopped",
            ),
            Self::Queued(upseed_core::ClientKind::Embedded) => f.write_str(
                "the embedded engine has not started seeding it yet; check that `upseed daemon` (or `upseed serve`) still runs, and see its log",
            ),
        }
    }
}

/// One report from long work. A task's events share its `id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A task began, with its number of steps when known.
    Started {
        /// The task's id.
        id: u64,
        /// What it is.
        task: Task,
        /// How many steps it has, when known.
        total: Option<u64>,
    },
    /// A task finished some steps.
    Advanced {
        /// The task's id.
        id: u64,
        /// Steps finished now.
        by: u64,
    },
    /// Where a task has got to, in words.
    Status {
        /// The task's id.
        id: u64,
        /// What it is waiting for.
        text: String,
    },
    /// A task ended.
    Finished {
        /// The task's id.
        id: u64,
    },
    /// Something went wrong that the work went on without.
    Warning(Warning),
}

type Sink = Arc<dyn Fn(Event) + Send + Sync>;

/// Where events go: a callback, or nowhere. Cheap to clone.
#[derive(Clone, Default)]
pub struct Events {
    sink: Option<Sink>,
    next: Arc<AtomicU64>,
}

impl fmt::Debug for Events {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Events")
            .field("listening", &self.sink.is_some())
            .finish()
    }
}

impl Events {
    /// Events go to `sink`.
    pub fn new(sink: impl Fn(Event) + Send + Sync + 'static) -> Self {
        Self {
            sink: Some(Arc::new(sink)),
            next: Arc::default(),
        }
    }

    /// Events go nowhere.
    pub fn none() -> Self {
        Self::default()
    }

    fn emit(&self, event: Event) {
        if let Some(sink) = &self.sink {
            sink(event);
        }
    }

    /// Reports a warning.
    pub fn warn(&self, warning: Warning) {
        self.emit(Event::Warning(warning));
    }

    /// Starts a task; it finishes when the handle is dropped.
    pub fn task(&self, task: Task, total: Option<usize>) -> TaskHandle {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        self.emit(Event::Started {
            id,
            task,
            total: total.map(|t| t as u64),
        });
        TaskHandle {
            events: self.clone(),
            id,
        }
    }
}

/// A running task: reports its progress, and its end when dropped.
#[derive(Debug)]
pub struct TaskHandle {
    events: Events,
    id: u64,
}

impl TaskHandle {
    /// `by` more steps are done.
    pub fn advance(&self, by: usize) {
        self.events.emit(Event::Advanced {
            id: self.id,
            by: by as u64,
        });
    }

    /// Where the task has got to.
    pub fn status(&self, text: String) {
        self.events.emit(Event::Status { id: self.id, text });
    }
}

impl Drop for TaskHandle {
    fn drop(&mut self) {
        self.events.emit(Event::Finished { id: self.id });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[test]
    fn a_task_reports_its_start_steps_and_end() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let events = Events::new({
            let seen = seen.clone();
            move |e| seen.lock().unwrap().push(e)
        });
        {
            let task = events.task(Task::Fetch, Some(2));
            task.advance(1);
            task.status("waiting".into());
        }
        events.warn(Warning::LeadsUnfetched(1));
        let seen = seen.lock().unwrap();
        assert_eq!(
            *seen,
            vec![
                Event::Started {
                    id: 0,
                    task: Task::Fetch,
                    total: Some(2)
                },
                Event::Advanced { id: 0, by: 1 },
                Event::Status {
                    id: 0,
                    text: "waiting".into()
                },
                Event::Finished { id: 0 },
                Event::Warning(Warning::LeadsUnfetched(1)),
            ]
        );
        assert_eq!(
            Task::Scrape { trackers: 2 }.to_string(),
            "scraping 2 tracker(s)"
        );
    }
}
