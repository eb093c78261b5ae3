//! `upseed mutes publish`, `unpublish`, `subscribe` and `unsubscribe`:
//! the node's side of mute lists (PROTOCOL.md §20). Publishing signs the
//! user's mutes and puts the list on the DHT, then appends it to the
//! outbox index; subscribing reads a key's list at once when the DHT is
//! on. What sync does with lists is in [`crate::mute_list`].

use upseed_core::mute_list::ListItem;
use upseed_core::{InfoHash, PublicKey, TorrentClient};

use crate::api::Node;
use crate::fetch::Fetch;
use crate::mute_list::{read_lists, sign_own};
use crate::store::Subscription;
use crate::{Error, now};

/// What publishing our mute list did.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct MuteListReport {
    /// Our key, z-base-32.
    pub author: String,
    /// Whether we publish our mutes from now on.
    pub published: bool,
    /// When the list was signed, unix seconds.
    pub created: u64,
    /// Its entries.
    pub entries: usize,
    /// The torrent that holds it, for a list too long for the item.
    pub torrent: Option<InfoHash>,
    /// Whether the DHT took the item; `false` with the DHT off or away.
    pub announced: bool,
}

/// What [`Node::subscribe_mutes`] did.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct SubscribeReport {
    /// Whether the subscription is new.
    pub new: bool,
    /// The subscription after its first read.
    pub list: Subscription,
    /// Upvotes the list covers, which the client stopped seeding.
    #[serde(default)]
    pub unseeded: Vec<InfoHash>,
}

/// What [`Node::unsubscribe_mutes`] did.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct UnsubscribeReport {
    /// The list's author, z-base-32.
    pub author: String,
    /// Whether we were subscribed.
    pub removed: bool,
}

impl<C: TorrentClient> Node<C> {
    /// Publishes our mutes as a signed list, now and at every sync from now
    /// on.
    pub async fn publish_mutes(&self) -> Result<MuteListReport, Error> {
        self.share_mutes(true).await
    }

    /// Publishes an empty list, so that subscribers drop every entry of
    /// ours, and stops publishing.
    pub async fn unpublish_mutes(&self) -> Result<MuteListReport, Error> {
        self.share_mutes(false).await
    }

    async fn share_mutes(&self, on: bool) -> Result<MuteListReport, Error> {
        let config = self.config()?;
        let key = self.identity()?;
        let client = self.client()?;
        let dht = self.join_dht().await;
        let now = now();
        let list = {
            let mut store = self.store()?;
            let held = store.own_mute_list()?.1;
            store.set_own_mute_list(on, held.as_deref())?;
            sign_own(&mut store, (&key, config, client), now).await?
        };
        let announced = match &dht {
            Some(dht) => {
                let put = dht.put_mute_list(&key, &list).await;
                self.republish().await?;
                put.is_ok()
            }
            None => false,
        };
        Ok(MuteListReport {
            author: key.public_key().to_z32(),
            published: on,
            created: list.created(),
            entries: list.entries().len(),
            torrent: match list.item() {
                ListItem::Torrent { infohash, .. } => Some(infohash),
                ListItem::Inline(_) => None,
            },
            announced,
        })
    }

    /// Subscribes to `author`'s mute list and reads it now when the DHT is
    /// on: its entries hide what they name, except from whom we follow.
    pub async fn subscribe_mutes(&self, author: PublicKey) -> Result<SubscribeReport, Error> {
        let config = self.config()?;
        if self.me()?.is_some_and(|k| k.public_key() == author) {
            return Err(Error::OwnMuteList(author.to_z32()));
        }
        let new = self.store()?.subscribe_mutes(author, now())?;
        let mut unseeded = Vec::new();
        if let Some(dht) = self.join_dht().await {
            let client = self.client()?;
            let fetch = Fetch::quiet(client, config, config.daemon.fetch_timeout, now());
            let mut store = self.store()?;
            unseeded = read_lists(&dht, &mut store, &fetch, &[author])
                .await?
                .unseeded;
        }
        let list = self
            .store()?
            .mute_subscriptions(now())?
            .into_iter()
            .find(|s| s.author == author.to_z32())
            .ok_or(Error::OwnMuteList(author.to_z32()))?;
        Ok(SubscribeReport {
            new,
            list,
            unseeded,
        })
    }

    /// Unsubscribes from `author`'s list: its entries stop hiding anything.
    pub fn unsubscribe_mutes(&self, author: PublicKey) -> Result<UnsubscribeReport, Error> {
        Ok(UnsubscribeReport {
            author: author.to_z32(),
            removed: self.store()?.unsubscribe_mutes(author)?,
        })
    }
}
