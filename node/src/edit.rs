//! `upseed edit` and `delete`: an author supersedes a record of theirs
//! (PROTOCOL.md §19). An edit publishes the new version like a post, but
//! on no board: it shows only in place of the record it replaces. The
//! signed supersede record is stored, put on the DHT under the target's
//! salt and appended to the outbox index; the versions no longer in force
//! stop being seeded (the user's files are kept).

use upseed_core::supersede::Supersede;
use upseed_core::{CommentDraft, InfoHash, Kind, PostDraft, Record, TorrentClient};

use crate::api::Node;
use crate::events::Warning;
use crate::{Error, error_chain, now};

/// What [`Node::edit`] or [`Node::delete`] did.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct SupersedeReport {
    /// The record edited or deleted: its id.
    pub target: InfoHash,
    /// The new version, for an edit.
    pub replacement: Option<InfoHash>,
    /// Whether it was a delete.
    pub deleted: bool,
    /// The supersede record's sequence number.
    pub seq: u64,
    /// Older versions the client stopped seeding.
    pub unseeded: Vec<InfoHash>,
}

impl<C: TorrentClient> Node<C> {
    /// Replaces the text (and for a post, with `title`, the title) of our
    /// record `reference` names. The post keeps its id, community, votes
    /// and comments.
    pub async fn edit(
        &self,
        reference: &str,
        text: &str,
        title: Option<&str>,
    ) -> Result<SupersedeReport, Error> {
        let key = self.identity()?;
        let target = self.own_record(reference)?;
        let replacement = match target.kind() {
            Kind::Post => {
                let mut draft = PostDraft::new(text)?;
                match title.or(target.title().map(|t| t.as_str())) {
                    Some(title) if !title.is_empty() => draft = draft.title(title)?,
                    _ => {}
                }
                if let Some(community) = target.community() {
                    draft = draft.community(community.as_str())?;
                }
                draft.sign(&key, now())?
            }
            Kind::Comment => {
                let (Some(parent), Some(root)) = (target.parent(), target.root()) else {
                    return Err(Error::Unknown(target.infohash()));
                };
                CommentDraft::new(text, parent, root)?.sign(&key, now())?
            }
        };
        self.supersede(&target, Some(replacement)).await
    }

    /// Deletes our record `reference` names: for good, as the protocol
    /// makes a delete final. Its comments stay.
    pub async fn delete(&self, reference: &str) -> Result<SupersedeReport, Error> {
        let target = self.own_record(reference)?;
        self.supersede(&target, None).await
    }

    /// The stored record `reference` names, if we wrote it and have not
    /// deleted it.
    fn own_record(&self, reference: &str) -> Result<Record, Error> {
        self.config()?;
        let me = self.identity()?.public_key();
        let store = self.store()?;
        let target = crate::feed::known(&store, self.resolve_in(&store, reference)?)?;
        if let Some(hash) = store.replaced(target.infohash())? {
            return Err(Error::NotTheFirstVersion {
                version: target.infohash(),
                target: hash,
            });
        }
        if target.author() != me {
            return Err(Error::NotYours(target.infohash()));
        }
        if store
            .supersede(target.infohash())?
            .is_some_and(|s| s.is_delete())
        {
            return Err(Error::Deleted(target.infohash()));
        }
        Ok(target)
    }

    async fn supersede(
        &self,
        target: &Record,
        replacement: Option<Record>,
    ) -> Result<SupersedeReport, Error> {
        let key = self.identity()?;
        let config = self.config()?;
        let seq = self.store()?.supersede_history(target.infohash())?.len() as u64 + 1;
        let record = Supersede::sign(
            &key,
            target.infohash(),
            replacement.as_ref().map(Record::infohash),
            seq,
        )?;
        // The supersede record first: the new version is then never ranked
        // on its own, even for a moment.
        self.store()?.put_supersede(&record, now())?;
        if let Some(replacement) = replacement {
            self.publish(replacement, false).await?;
        }
        let mut store = self.store()?;
        let stale = store.stale_versions()?;
        let mut stop = Vec::new();
        for (hash, vote) in store.votes()? {
            if stale.contains(&hash) {
                stop.push((hash, vote));
            }
        }
        crate::vote::stop_seeding(&mut store, config, self.client()?, &stop).await?;
        drop(store);
        if let Some(dht) = self.join_dht().await {
            if let Err(e) = dht.put_supersede(&key, &record).await {
                self.events
                    .warn(Warning::NotAnnounced(error_chain(&Error::from(e))));
            }
            self.republish().await?;
        }
        Ok(SupersedeReport {
            target: target.infohash(),
            replacement: record.replacement(),
            deleted: record.is_delete(),
            seq,
            unseeded: stop.into_iter().map(|(h, _)| h).collect(),
        })
    }
}
