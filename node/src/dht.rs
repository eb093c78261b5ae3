//! The mainline DHT, as upseed uses it: reading and appending to boards,
//! and publishing and reading outboxes (BEP 44 mutable items, formats in
//! `upseed_core::item`). A client only: upseed never answers other nodes'
//! queries beyond what the `mainline` crate does while it runs.

use std::time::Duration;

use futures_util::StreamExt;
use mainline::async_dht::AsyncDht;
use mainline::errors::PutMutableError;
use mainline::{Dht as Mainline, MutableItem, SigningKey};
#[cfg(test)]
use upseed_core::item::BOARD_SALT;
use upseed_core::item::{self, BoardEntry, ItemError, MAX_ITEM_VALUE, OUTBOX_SALT, Outbox};
use upseed_core::mute_list::{ListItem, MUTE_LIST_SALT, MuteList};
use upseed_core::supersede::Supersede;
use upseed_core::{InfoHash, PublicKey, SecretKey};

use crate::config::DhtSection;

/// DHT failures, each with what to do.
#[derive(Debug, thiserror::Error)]
pub enum DhtError {
    /// No node answered.
    #[error(
        "the DHT is unreachable: no node answered ({bootstrap}); check that this machine may send UDP, or set [dht] bootstrap; to work without the DHT, set [dht] enabled = false (or UPSEED_DHT_ENABLED=false)"
    )]
    Unreachable {
        /// The bootstrap nodes tried.
        bootstrap: String,
    },
    /// The local socket could not be opened.
    #[error("cannot open a UDP socket for the DHT: {0}; check [dht] port, or set it to 0")]
    Socket(std::io::Error),
    /// A value does not fit.
    #[error(transparent)]
    Item(#[from] ItemError),
    /// Writers kept racing on one item.
    #[error("another writer kept changing the item at the same time; try again in a moment")]
    Conflict,
    /// Every item of the board is frozen.
    #[error(
        "the board and its {} overflow items are frozen by a writer with sequence numbers far in the future; nothing can be appended until they expire from the DHT (2 hours after their last put)",
        item::BOARD_OVERFLOWS
    )]
    Frozen,
    /// The put reached no node.
    #[error("no DHT node stored the item ({0}); try again later")]
    Put(String),
}

/// The most DHT queries one process runs at once. Each answer carries up
/// to 1,000 bytes from each of the closest nodes, and a burst of more
/// queries than this loses answers (the UDP receive buffer overflows): on
/// a loopback test network, a fresh entry was missed among 32 board reads
/// at once in 4 runs of 6, with at most 16 at once in 3 of 12, and with
/// at most 8 at once in none of 12.
pub const MAX_QUERIES: usize = 8;

/// A DHT client.
pub struct Dht {
    inner: AsyncDht,
    bootstrap: String,
    queries: tokio::sync::Semaphore,
}

/// The clock in microseconds: the `seq` of every item upseed writes.
fn now_micros() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
}

fn signer(key: &SecretKey) -> SigningKey {
    SigningKey::from_bytes(&key.to_seed())
}

impl Dht {
    /// Joins the DHT as `[dht]` says, giving up after 20 s; `None` when it
    /// is off.
    pub async fn join(config: &DhtSection) -> Result<Option<Self>, DhtError> {
        let limit = Duration::from_secs(20);
        tokio::time::timeout(limit, Self::join_now(config))
            .await
            .unwrap_or_else(|_| {
                Err(DhtError::Unreachable {
                    bootstrap: format!("no answer within {} s", limit.as_secs()),
                })
            })
    }

    async fn join_now(config: &DhtSection) -> Result<Option<Self>, DhtError> {
        if !config.enabled {
            return Ok(None);
        }
        let mut builder = Mainline::builder();
        if !config.bootstrap.is_empty() {
            builder.bootstrap(&config.bootstrap);
        }
        if let Some(ip) = config.bind {
            builder.bind_address(ip);
        }
        builder.port(config.port);
        builder.request_timeout(Duration::from_millis(config.request_timeout_ms));
        let inner = builder.build().map_err(DhtError::Socket)?.as_async();
        let bootstrap = if config.bootstrap.is_empty() {
            "the default bootstrap nodes".to_owned()
        } else {
            config.bootstrap.join(", ")
        };
        let dht = Self {
            inner,
            bootstrap,
            queries: tokio::sync::Semaphore::new(MAX_QUERIES),
        };
        // Reachable as soon as one node has answered: the bootstrap query
        // itself only ends when its slowest node answers or times out.
        let answered = async {
            while dht.inner.to_bootstrap().await.is_empty() {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            true
        };
        let reachable = tokio::select! {
            yes = answered => yes,
            done = dht.inner.bootstrapped() => done || !dht.inner.to_bootstrap().await.is_empty(),
        };
        if !reachable {
            return Err(dht.unreachable());
        }
        Ok(Some(dht))
    }

    /// The local UDP address the DHT's socket is bound to.
    pub async fn local_addr(&self) -> std::net::SocketAddrV4 {
        self.inner.info().await.local_addr()
    }

    fn unreachable(&self) -> DhtError {
        DhtError::Unreachable {
            bootstrap: self.bootstrap.clone(),
        }
    }

    /// Every version of a mutable item that nodes return, newest first.
    async fn versions(&self, key: &PublicKey, salt: &[u8]) -> Vec<MutableItem> {
        let _turn = self.queries.acquire().await;
        let mut items: Vec<MutableItem> = self
            .inner
            .get_mutable(key.as_bytes(), Some(salt), None)
            .collect()
            .await;
        // Strict ed25519 only: the library accepts what plain `verify` does.
        items.retain(|i| item::verify_item(key, salt, i.seq(), i.value(), i.signature()));
        items.sort_by_key(|i| std::cmp::Reverse(i.seq()));
        items.dedup_by(|a, b| a.seq() == b.seq() && a.value() == b.value());
        items
    }

    /// The union of every version of a board that nodes return, newest
    /// entries first. Versions that are not boards are skipped.
    /// A board frozen by a `seq` far in the future (see
    /// [`item::is_frozen`]) is read on into its overflow items.
    pub async fn read_board(&self, key: &PublicKey) -> Vec<InfoHash> {
        let mut out = Vec::new();
        for level in 0..=item::BOARD_OVERFLOWS {
            let versions = self.versions(key, &item::board_salt(level)).await;
            let frozen = versions
                .iter()
                .any(|v| item::is_frozen(v.seq(), now_micros()));
            for version in versions {
                if let Ok(entries) = item::decode_board(version.value()) {
                    // An entry without its proof of work is a flood's: it
                    // costs the reader nothing, not even a fetch.
                    let proven: Vec<InfoHash> = entries
                        .iter()
                        .filter(|e| e.proves_work())
                        .map(|e| e.hash)
                        .collect();
                    out = item::merge(&out, &proven);
                }
            }
            if !frozen {
                break;
            }
        }
        out
    }

    /// Puts `hashes` at the front of the board whose key pair is `key`,
    /// keeping what is there; retried when another writer races.
    /// A frozen board item (see [`item::is_frozen`]) is skipped for the
    /// next overflow item.
    pub async fn append_board(
        &self,
        key: &SecretKey,
        entries: &[BoardEntry],
    ) -> Result<(), DhtError> {
        for level in 0..=item::BOARD_OVERFLOWS {
            let appended = self
                .update(key, &item::board_salt(level), |old| {
                    // What proves no work is not put back: a flood is
                    // cleared by every honest append.
                    let old: Vec<BoardEntry> = old
                        .and_then(|v| item::decode_board(v).ok())
                        .unwrap_or_default()
                        .into_iter()
                        .filter(BoardEntry::proves_work)
                        .collect();
                    Ok(item::encode_board(&item::merge_entries(entries, &old)))
                })
                .await;
            match appended {
                Err(DhtError::Frozen) => continue,
                other => return other,
            }
        }
        Err(DhtError::Frozen)
    }

    /// Publishes `outbox` under the user's own key.
    pub async fn publish_outbox(&self, key: &SecretKey, outbox: &Outbox) -> Result<(), DhtError> {
        let value = outbox.encode()?;
        self.update(key, OUTBOX_SALT, |_| Ok(value.clone())).await
    }

    /// A user's outbox, with the signed item to republish; `None` if nodes
    /// have none, or only malformed ones.
    pub async fn read_outbox(&self, key: &PublicKey) -> Option<(Outbox, MutableItem)> {
        self.versions(key, OUTBOX_SALT)
            .await
            .into_iter()
            .find_map(|v| Outbox::decode(v.value()).ok().map(|o| (o, v)))
    }

    /// Puts our supersede record of its target under our key, at the
    /// target's salt, with the record's own `seq` (PROTOCOL.md §19). A
    /// node that holds a later one keeps it.
    pub async fn put_supersede(&self, key: &SecretKey, record: &Supersede) -> Result<(), DhtError> {
        let salt = upseed_core::supersede::item_salt(record.target());
        let seq = i64::try_from(record.seq()).unwrap_or(i64::MAX);
        let item = MutableItem::new(signer(key), &record.encode(), seq, Some(&salt));
        let _turn = self.queries.acquire().await;
        match self.inner.put_mutable(item, None).await {
            Ok(_) | Err(PutMutableError::Concurrency(_)) => Ok(()),
            Err(e) => Err(self.put_error(e)),
        }
    }

    /// Every valid supersede record of `target` that nodes return under
    /// `author`'s key, newest first. What nodes return is only a hint: the
    /// record's own signature is checked, and the caller checks that
    /// `author` wrote `target`.
    pub async fn read_supersedes(&self, author: PublicKey, target: InfoHash) -> Vec<Supersede> {
        let salt = upseed_core::supersede::item_salt(target);
        self.versions(&author, &salt)
            .await
            .iter()
            .filter_map(|v| Supersede::decode(v.value()).ok())
            .filter(|s| s.target() == target && s.author() == author)
            .collect()
    }

    /// Puts our mute list's item under our key (PROTOCOL.md §20), with the
    /// list's `created` as `seq`. A node that holds a later one keeps it.
    pub async fn put_mute_list(&self, key: &SecretKey, list: &MuteList) -> Result<(), DhtError> {
        let seq = i64::try_from(list.created()).unwrap_or(i64::MAX);
        let value = list.item().encode();
        let item = MutableItem::new(signer(key), &value, seq, Some(MUTE_LIST_SALT));
        let _turn = self.queries.acquire().await;
        match self.inner.put_mutable(item, None).await {
            Ok(_) | Err(PutMutableError::Concurrency(_)) => Ok(()),
            Err(e) => Err(self.put_error(e)),
        }
    }

    /// The newest well-formed mute list item under `author`'s key, with the
    /// signed item to put again; `None` if nodes have none. The list it
    /// holds or names is checked by the caller.
    pub async fn read_mute_list(&self, author: &PublicKey) -> Option<(ListItem, MutableItem)> {
        self.versions(author, MUTE_LIST_SALT)
            .await
            .into_iter()
            .find_map(|v| ListItem::decode(v.value()).ok().map(|i| (i, v)))
    }

    /// Stores a signed item again, as anyone may, so that it does not
    /// expire. An item nodes hold a newer version of is left alone.
    pub async fn republish(&self, item: MutableItem) -> Result<(), DhtError> {
        let _turn = self.queries.acquire().await;
        match self.inner.put_mutable(item, None).await {
            Ok(_) | Err(PutMutableError::Concurrency(_)) => Ok(()),
            Err(e) => Err(self.put_error(e)),
        }
    }

    /// Puts a kept copy of a signed outbox item back.
    pub async fn republish_stored(&self, item: &crate::store::StoredItem) -> Result<(), DhtError> {
        self.republish_at(item, OUTBOX_SALT).await
    }

    /// Puts a kept copy of a signed item of salt `salt` back.
    pub async fn republish_at(
        &self,
        item: &crate::store::StoredItem,
        salt: &[u8],
    ) -> Result<(), DhtError> {
        self.republish(MutableItem::new_signed_unchecked(
            *item.key.as_bytes(),
            item.signature,
            &item.value,
            item.seq,
            Some(salt),
        ))
        .await
    }

    fn put_error(&self, e: PutMutableError) -> DhtError {
        match e {
            PutMutableError::Query(mainline::errors::PutQueryError::NoClosestNodes) => {
                self.unreachable()
            }
            PutMutableError::Query(q) => DhtError::Put(q.to_string()),
            PutMutableError::Concurrency(_) => DhtError::Conflict,
        }
    }

    /// Reads the newest version, writes `next(old value)` with the next
    /// `seq` and `cas`, and starts again if another writer got there first.
    async fn update(
        &self,
        key: &SecretKey,
        salt: &[u8],
        next: impl Fn(Option<&[u8]>) -> Result<Vec<u8>, ItemError>,
    ) -> Result<(), DhtError> {
        let public = key.public_key();
        let _turn = self.queries.acquire().await;
        for attempt in 0..UPDATE_ATTEMPTS {
            if attempt > 0 {
                // Writers that raced all try again at once unless each
                // waits its own while, longer after each loss.
                tokio::time::sleep(backoff(attempt)).await;
            }
            let newest = self
                .inner
                .get_mutable_most_recent(public.as_bytes(), Some(salt))
                .await;
            let now_us = now_micros();
            if newest
                .as_ref()
                .is_some_and(|n| item::is_frozen(n.seq(), now_us))
            {
                return Err(DhtError::Frozen);
            }
            let value = next(newest.as_ref().map(MutableItem::value))?;
            if value.len() > MAX_ITEM_VALUE {
                return Err(ItemError::TooLarge {
                    what: "item",
                    len: value.len(),
                    fix: "write less into it",
                }
                .into());
            }
            // A clock-based seq keeps increasing across machines, as pkarr does.
            let cas = newest.as_ref().map(MutableItem::seq);
            let seq = cas.map_or(now_us, |c| now_us.max(c.saturating_add(1)));
            let item = MutableItem::new(signer(key), &value, seq, Some(salt));
            match self.inner.put_mutable(item, cas).await {
                Ok(_) => return Ok(()),
                Err(PutMutableError::Concurrency(_)) => continue,
                Err(e) => return Err(self.put_error(e)),
            }
        }
        Err(DhtError::Conflict)
    }
}

/// How many times an item's read-modify-write is tried when other writers
/// race it (the DHT's compare-and-swap refuses all but one).
pub const UPDATE_ATTEMPTS: u32 = 8;

/// A random wait before try `attempt` (1 and up): up to 50 ms doubled
/// with each loss, at most 3.2 s.
fn backoff(attempt: u32) -> std::time::Duration {
    let mut bytes = [0u8; 2];
    let spread = if getrandom::fill(&mut bytes).is_ok() {
        u64::from(u16::from_le_bytes(bytes))
    } else {
        u64::from(std::process::id())
    };
    let ceiling = 50u64 << attempt.min(6);
    std::time::Duration::from_millis(10 + spread % ceiling)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn racing_writers_back_off_apart_and_not_for_long() {
        let waits: Vec<_> = (0..32).map(|_| backoff(3)).collect();
        assert!(
            waits
                .iter()
                .all(|w| w.as_millis() >= 10 && w.as_millis() < 410)
        );
        assert!(waits.iter().any(|w| *w != waits[0]), "{waits:?}");
        assert!(backoff(20) <= std::time::Duration::from_millis(3_210));
    }

    #[test]
    fn the_dht_librarys_signature_is_the_protocols() {
        let key = SecretKey::from_seed(&[7; 32]);
        let (seq, value) = (1_796_033_546_000_000, b"u1".as_slice());
        let made = MutableItem::new(signer(&key), value, seq, Some(BOARD_SALT));
        assert_eq!(
            made.signature(),
            &item::sign_item(&key, BOARD_SALT, seq, value)
        );
        let public = key.public_key();
        assert!(item::verify_item(
            &public,
            BOARD_SALT,
            seq,
            value,
            made.signature()
        ));
        assert!(!item::verify_item(
            &public,
            BOARD_SALT,
            seq + 1,
            value,
            made.signature()
        ));
        assert!(!item::verify_item(
            &public,
            OUTBOX_SALT,
            seq,
            value,
            made.signature()
        ));
    }
}
