//! Publishing: signing our posts and comments, writing their text where
//! the client seeds it from, storing them, and announcing them and our
//! outbox (profile, follows) on the DHT.

use upseed_core::counts::{CLIENT_SOURCE, SwarmCount};
use upseed_core::item::Outbox;
use upseed_core::{
    AddTorrent, CommentDraft, InfoHash, Magnet, PostDraft, PublicKey, Record, TorrentClient,
};

use crate::api::Node;
use crate::discover::{self, Me, Published};
use crate::events::Warning;
use crate::files::write_body;
use crate::{Error, error_chain, now};

/// What to post.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PostInput {
    /// The text.
    pub text: String,
    /// A one-line title.
    pub title: Option<String>,
    /// The community to post in.
    pub community: Option<String>,
}

/// A record we published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Posted {
    /// The signed record.
    pub record: Record,
    /// Its magnet link, with our trackers.
    pub magnet: Magnet,
}

impl<C: TorrentClient> Node<C> {
    /// Signs a post with our key, has the client seed it, stores it, and
    /// announces it on the DHT.
    pub async fn post(&self, input: &PostInput) -> Result<Posted, Error> {
        self.config()?;
        let key = self.identity()?;
        let mut draft = PostDraft::new(&input.text)?;
        if let Some(title) = &input.title {
            draft = draft.title(title)?;
        }
        if let Some(community) = &input.community {
            draft = draft.community(community)?;
        }
        let record = draft.sign(&key, now())?;
        self.publish(record, true).await
    }

    /// Signs a comment on the stored record `reference` names, has the
    /// client seed it, stores it, and announces it on its reply board.
    pub async fn comment(&self, reference: &str, text: &str) -> Result<Posted, Error> {
        self.config()?;
        let key = self.identity()?;
        let parent = {
            let store = self.store()?;
            crate::feed::known(&store, self.resolve_in(&store, reference)?)?
        };
        let record = CommentDraft::reply_to(text, &parent)?.sign(&key, now())?;
        self.publish(record, true).await
    }

    /// Has the client seed our `record`, stores it, and (with `announce`)
    /// announces it on its board and in our outbox.
    pub(crate) async fn publish(&self, record: Record, announce: bool) -> Result<Posted, Error> {
        let config = self.config()?;
        let client = self.client()?;
        let mut store = self.store()?;
        // We are in our own web of trust from our first post on: our posts
        // count us.
        if !store.trusts(record.author())? {
            crate::trust::recompute(&mut store, config, Some(record.author()), now())?;
        }
        // The intent first, in one transaction: a crash after it leaves a
        // post that the next sync seeds again, never one without its vote.
        store.put_authored(&record, now())?;
        let seeded = async {
            write_body(&config.posts.dir, &record)?;
            let add = AddTorrent::from_torrent(
                record.torrent_bytes(&config.trackers.urls),
                config.client_path(&config.posts.dir),
            )?
            .with_tags([crate::files::own_tag(&record)])
            .with_data_present();
            client.add(&[add]).await?;
            Ok::<(), Error>(())
        }
        .await;
        if let Err(error) = seeded {
            // Rolled back: nothing is left of a post that was not published.
            store.delete_threads(&[record.infohash()])?;
            let _ = std::fs::remove_file(config.posts.dir.join(record.name()));
            return Err(error);
        }
        // We seed it from the start: the feed counts us at once, as the
        // client's own count will at the next sync.
        store.put_counts(
            &[SwarmCount {
                infohash: record.infohash(),
                source: CLIENT_SOURCE.to_owned(),
                seeders: Some(1),
                leechers: Some(0),
                completed: Some(0),
            }],
            now(),
            &config.retention.policy(),
        )?;
        if announce && let Some(dht) = self.join_dht().await {
            let key = self.identity()?;
            let me = Me {
                key: &key,
                config,
                client,
            };
            match discover::announce(&dht, &mut store, &me, &record, now()).await {
                Ok(published) => self.warn_index(&published),
                Err(e) => self.events.warn(Warning::NotAnnounced(error_chain(&e))),
            }
        }
        let magnet = Magnet::for_record(&record, &config.trackers.urls);
        Ok(Posted { record, magnet })
    }

    /// Follows `key` (or, with `on` false, stops); returns whether that
    /// changed anything. Our outbox is published again.
    pub async fn follow(&self, key: PublicKey, on: bool) -> Result<bool, Error> {
        self.config()?;
        let mut store = self.store()?;
        let changed = if on {
            store.follow(key, now())?
        } else {
            store.unfollow(key)?
        };
        let me = self.me()?.map(|k| k.public_key());
        crate::trust::recompute(&mut store, self.config()?, me, now())?;
        drop(store);
        self.republish().await?;
        Ok(changed)
    }

    /// Sets (`Some`), clears (`Some("")`) or keeps (`None`) our display
    /// name and about text, and publishes our outbox again.
    pub async fn profile(
        &self,
        name: Option<String>,
        about: Option<String>,
    ) -> Result<Outbox, Error> {
        self.config()?;
        let key = self.identity()?;
        let mut store = self.store()?;
        let mut outbox = store.outbox(key.public_key())?;
        let clear = |v: Option<String>, old: Option<String>| match v {
            Some(v) if v.is_empty() => None,
            Some(v) => Some(v),
            None => old,
        };
        outbox.name = clear(name, outbox.name);
        outbox.about = clear(about, outbox.about);
        // Refuse what cannot be published before storing it.
        outbox.encode()?;
        store.set_profile("name", outbox.name.as_deref())?;
        store.set_profile("about", outbox.about.as_deref())?;
        drop(store);
        self.republish().await?;
        Ok(outbox)
    }

    /// Publishes our outbox after a change to it, warning when it cannot.
    pub(crate) async fn republish(&self) -> Result<(), Error> {
        if let Some(dht) = self.join_dht().await {
            let config = self.config()?;
            let key = self.identity()?;
            let client = self.client()?;
            let me = Me {
                key: &key,
                config,
                client,
            };
            let mut store = self.store()?;
            match discover::publish_outbox(&dht, &mut store, &me, now()).await {
                Ok(published) => self.warn_index(&published),
                Err(e) => self
                    .events
                    .warn(Warning::OutboxNotPublished(error_chain(&e))),
            }
        }
        Ok(())
    }

    /// Warns when the outbox index could not be updated.
    fn warn_index(&self, published: &Published) {
        if let Some(e) = &published.index_error {
            self.events.warn(Warning::IndexNotUpdated(e.clone()));
        }
    }

    /// The infohash `reference` names: an infohash, a unique prefix of one
    /// (6+ hex digits) among the stored records, or a magnet link.
    pub fn resolve(&self, reference: &str) -> Result<InfoHash, Error> {
        self.resolve_in(&*self.store()?, reference)
    }
}
