//! `upseed mute` and `unmute`: the reader's private mutes. Muting resolves
//! what the user typed (a key or a display name, a record reference, a
//! community, a phrase), stores the entry, and stops seeding what it
//! covers, except the user's own records and pins unless asked. Reads
//! load the matcher through the node's cache, which reloads it only when
//! the store's mutes changed.

use std::sync::Arc;
use std::time::Duration;

use upseed_core::mute::{MuteJson, MuteKind, MuteTarget, Mutes};
use upseed_core::{InfoHash, PublicKey, TorrentClient};

use crate::api::Node;
use crate::store::Vote;
use crate::{Error, now};

/// What [`Node::mute`] did.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct MuteReport {
    /// The entry as stored.
    pub mute: MuteJson,
    /// Whether it is new (else its expiry was replaced).
    pub new: bool,
    /// Records it covers that the client stopped seeding.
    pub unseeded: Vec<InfoHash>,
    /// Records it covers that are still seeded: the user's own and pinned
    /// ones, which stop only with `include_own`.
    pub kept: Vec<InfoHash>,
}

/// What [`Node::unmute`] did.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct UnmuteReport {
    /// What it names.
    pub kind: MuteKind,
    /// The entry's value.
    pub value: String,
    /// Whether it was muted.
    pub removed: bool,
}

/// `upseed mutes --json`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct MutesJson {
    /// The entries in force, by kind then value.
    pub mutes: Vec<MuteJson>,
    /// Whether they are published as a mute list (`upseed mutes publish`).
    #[serde(default)]
    pub published: bool,
    /// The mute lists subscribed to, oldest first.
    #[serde(default)]
    pub lists: Vec<crate::store::Subscription>,
}

impl<C: TorrentClient> Node<C> {
    /// The matcher over the user's mutes.
    pub fn mute_set(&self) -> Result<Arc<Mutes>, Error> {
        self.mutes_in(&*self.store()?)
    }

    /// The matcher over the user's mutes, read from `store`: their own and
    /// their subscribed lists', which never mute them.
    pub(crate) fn mutes_in(&self, store: &crate::store::Store) -> Result<Arc<Mutes>, Error> {
        self.mutes
            .get(store, || Ok(self.me()?.map(|k| k.public_key())))
    }

    /// The entry `value` names as `kind`: an author by key or by a display
    /// name the store knows, a thread by any record reference, a
    /// community by name, a word or phrase as given.
    pub fn mute_target(&self, kind: MuteKind, value: &str) -> Result<MuteTarget, Error> {
        let value = value.trim();
        match kind {
            MuteKind::Author => Ok(MuteTarget::Author(self.author_named(value)?)),
            MuteKind::Thread => {
                let store = self.store()?;
                Ok(MuteTarget::Thread(self.resolve_in(&store, value)?))
            }
            MuteKind::Community | MuteKind::Word => Ok(MuteTarget::parse(kind, value)?),
        }
    }

    /// The key `value` names: a key, or a display name only one known
    /// author has.
    fn author_named(&self, value: &str) -> Result<PublicKey, Error> {
        if let Ok(key) = value.parse::<PublicKey>() {
            return Ok(key);
        }
        let store = self.store()?;
        let me = self.me()?.map(|k| k.public_key());
        let names = crate::feed::Names::load(&store, me)?;
        let keys = names.named(value.trim_start_matches('@'));
        match keys.as_slice() {
            [] => Err(Error::NoAuthorNamed(value.to_owned())),
            [key] => Ok(*key),
            _ => Err(Error::AmbiguousName {
                name: value.to_owned(),
                keys: keys.iter().map(PublicKey::to_z32).collect(),
            }),
        }
    }

    /// Mutes `target` (for `duration`, or for good), and stops seeding
    /// the records it covers: upvotes at once, the user's own and pinned
    /// records only with `include_own`.
    pub async fn mute(
        &self,
        target: &MuteTarget,
        duration: Option<Duration>,
        include_own: bool,
    ) -> Result<MuteReport, Error> {
        let at = now();
        let until = duration.map(|d| at.saturating_add(d.as_secs().max(1)));
        let mut store = self.store()?;
        let new = store.mute(target, at, until)?;
        store.prune_mutes(at)?;
        self.trust_after_mutes(&mut store, target, at)?;
        let only = Mutes::new([(target.clone(), until)]);
        let mut stop = Vec::new();
        let mut kept = Vec::new();
        for (hash, vote) in store.votes()? {
            let Some(record) = store.record(hash)? else {
                continue;
            };
            if only.check(&record, at).is_none() {
                continue;
            }
            if (vote == Vote::Authored || store.pinned(hash)?) && !include_own {
                kept.push(hash);
            } else {
                stop.push((hash, vote));
            }
        }
        if !stop.is_empty() {
            let config = self.config()?;
            for &(hash, _) in &stop {
                store.unpin(hash)?;
            }
            crate::vote::stop_seeding(&mut store, config, self.client()?, &stop).await?;
        }
        let mute = store.muted(target)?.unwrap_or(MuteJson {
            kind: target.kind(),
            value: target.value(),
            since: at,
            until,
        });
        Ok(MuteReport {
            mute,
            new,
            unseeded: stop.into_iter().map(|(h, _)| h).collect(),
            kept,
        })
    }

    /// Unmutes `target`.
    pub fn unmute(&self, target: &MuteTarget) -> Result<UnmuteReport, Error> {
        let mut store = self.store()?;
        let removed = store.unmute(target)?;
        self.trust_after_mutes(&mut store, target, now())?;
        Ok(UnmuteReport {
            kind: target.kind(),
            value: target.value(),
            removed,
        })
    }

    /// Computes the web of trust again after a mute of an author changed:
    /// a muted key is not trusted.
    fn trust_after_mutes(
        &self,
        store: &mut crate::store::Store,
        target: &MuteTarget,
        now: u64,
    ) -> Result<(), Error> {
        if let (MuteTarget::Author(_), Some(config)) = (target, self.config_if_any()) {
            let me = self.me()?.map(|k| k.public_key());
            crate::trust::recompute(store, config, me, now)?;
        }
        Ok(())
    }

    /// The entries in force, by kind then value.
    pub fn mutes(&self) -> Result<MutesJson, Error> {
        let store = self.store()?;
        Ok(MutesJson {
            mutes: store.mutes(now())?,
            published: store.own_mute_list()?.0,
            lists: store.mute_subscriptions(now())?,
        })
    }
}
