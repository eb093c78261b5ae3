//! Mute lists shared over the DHT (PROTOCOL.md §20), as sync and the
//! `mutes` commands (in the `share` module) handle them.
//!
//! A published list is the user's mutes signed as one list, put as an
//! item under their key (a long list as a torrent their client seeds,
//! which the item names), and appended to their outbox index. Every sync
//! signs it again when the mutes changed, and puts it back. Each
//! subscribed list is read on every sync: a newer version replaces the
//! held one whole, so removals are honoured, and an older one (a replay)
//! is ignored.

use futures_util::future::join_all;
use upseed_core::index::{self, Index};
use upseed_core::mute::MuteTarget;
use upseed_core::mute_list::{ListEntry, ListItem, MUTE_LIST_SALT, MuteList};
use upseed_core::{AddTorrent, InfoHash, PublicKey, SecretKey, TorrentClient};

use crate::config::Config;
use crate::dht::Dht;
use crate::fetch::{Fetch, FetchError};
use crate::store::{Store, StoredItem};
use crate::{Error, error_chain};

/// The tag on the torrent of our long mute list.
pub const MUTES_TAG: &str = "upseed-mutes";

/// What one sync did with the subscribed lists.
#[derive(
    Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
pub struct ListsRead {
    /// Lists found.
    pub read: usize,
    /// Lists that changed: a newer version replaced the held one.
    pub updated: usize,
    /// Why a list could not be read or was refused, one line each.
    pub errors: Vec<String>,
    /// Upvotes that an updated list now covers, which the client stopped
    /// seeding (the user's own records and pins are kept).
    #[serde(default)]
    pub unseeded: Vec<InfoHash>,
}

/// Our mutes as entries of a list.
fn own_entries(store: &Store, now: u64) -> Result<Vec<ListEntry>, Error> {
    Ok(store
        .mutes(now)?
        .into_iter()
        .filter_map(|m| {
            MuteTarget::parse(m.kind, &m.value)
                .ok()
                .map(|target| ListEntry {
                    target,
                    until: m.until,
                })
        })
        .collect())
}

/// Our list as it should be published: the one held when our mutes have
/// not changed (and we still publish), else a new one (empty when we
/// stopped), signed later than the one before, stored, and seeded when it
/// needs a torrent.
pub(crate) async fn sign_own<C: TorrentClient>(
    store: &mut Store,
    (key, config, client): (&SecretKey, &Config, &C),
    now: u64,
) -> Result<MuteList, Error> {
    let (published, held) = store.own_mute_list()?;
    let held = held.and_then(|b| MuteList::decode(&b, now).ok());
    let entries = if published {
        own_entries(store, now)?
    } else {
        Vec::new()
    };
    let created = held
        .as_ref()
        .map_or(now, |h| now.max(h.created().saturating_add(1)));
    let fresh = MuteList::sign(key, created, entries)?;
    let list = match held {
        Some(held) if held.entries() == fresh.entries() => held,
        _ => fresh,
    };
    store.set_own_mute_list(published, Some(list.encoded()))?;
    seed_own(config, client, &list).await?;
    Ok(list)
}

/// Has the client seed our list's torrent, when it needs one, and stop
/// seeding the torrents of our earlier lists.
async fn seed_own<C: TorrentClient>(
    config: &Config,
    client: &C,
    list: &MuteList,
) -> Result<(), Error> {
    let current = match list.item() {
        ListItem::Torrent { infohash, .. } => Some(infohash),
        ListItem::Inline(_) => None,
    };
    let held = client.list(None).await?;
    let stale: Vec<InfoHash> = held
        .iter()
        .filter(|t| t.tags.iter().any(|tag| tag == MUTES_TAG))
        .map(|t| t.infohash)
        .filter(|h| Some(*h) != current)
        .collect();
    if !stale.is_empty() {
        client.remove(&stale, true).await?;
    }
    if current.is_some_and(|c| !held.iter().any(|t| t.infohash == c)) {
        let dir = &config.posts.dir;
        crate::files::write_file(dir, &list.file_name(), list.encoded())?;
        client
            .add(&[AddTorrent::from_torrent(
                list.torrent_bytes(&config.trackers.urls),
                config.client_path(dir),
            )?
            .with_tags([MUTES_TAG])
            .with_data_present()])
            .await?;
    }
    Ok(())
}

/// The `m` entry our index should gain: our last published list's item,
/// unless the history ends with it already. `chain` is newest first.
pub(crate) fn index_entry(
    store: &Store,
    chain: &[Index],
    now: u64,
) -> Result<Option<index::Entry>, Error> {
    let Some(list) = store
        .own_mute_list()?
        .1
        .and_then(|b| MuteList::decode(&b, now).ok())
    else {
        return Ok(None);
    };
    let value = list.item().encode();
    let last = chain
        .iter()
        .flat_map(|v| v.entries().iter().rev())
        .find_map(|e| match e {
            index::Entry::MuteList(v) => Some(v),
            _ => None,
        });
    Ok((last != Some(&value)).then_some(index::Entry::MuteList(value)))
}

/// The last mute list item in the outbox history we keep of `author`.
fn item_in_history(store: &Store, author: PublicKey) -> Result<Option<ListItem>, Error> {
    let Some(head) = store.index_head(author)? else {
        return Ok(None);
    };
    let (chain, _) = store.index_chain(head)?;
    Ok(chain
        .iter()
        .flat_map(|v| v.entries().iter().rev())
        .find_map(|e| match e {
            index::Entry::MuteList(v) => ListItem::decode(v).ok(),
            _ => None,
        }))
}

/// Reads the lists of `authors`: the newest of their DHT item and of their
/// outbox history (when we keep it), a long one fetched through the
/// client. A newer list replaces the one held; each kept item is put
/// back, as anyone may, so that it does not expire.
pub(crate) async fn read_lists<C: TorrentClient>(
    dht: &Dht,
    store: &mut Store,
    fetch: &Fetch<'_, C>,
    authors: &[PublicKey],
) -> Result<ListsRead, Error> {
    let now = fetch.now;
    let mut report = ListsRead::default();
    let read = join_all(authors.iter().map(|a| dht.read_mute_list(a))).await;
    // For each author, the newest list item found and its signed copy.
    let mut found = Vec::with_capacity(authors.len());
    for (author, read) in authors.iter().zip(read) {
        let from_dht = read.map(|(item, signed)| {
            let stored = StoredItem {
                key: *author,
                seq: signed.seq(),
                signature: *signed.signature(),
                value: signed.value().to_vec(),
            };
            (item, Some(stored))
        });
        let from_history = item_in_history(store, *author)?.map(|i| (i, None));
        let newest = [from_dht, from_history]
            .into_iter()
            .flatten()
            .max_by_key(|(item, _)| item.created(now));
        found.push(newest);
    }
    // The long lists newer than the ones held, fetched together.
    let mut wanted = Vec::new();
    for (author, newest) in authors.iter().zip(&found) {
        if let Some((ListItem::Torrent { created, infohash }, _)) = newest
            && store
                .mute_list_created(*author)?
                .is_none_or(|h| *created > h)
        {
            wanted.push(*infohash);
        }
    }
    let mut fetched: std::collections::HashMap<InfoHash, Result<MuteList, FetchError>> =
        if wanted.is_empty() {
            Default::default()
        } else {
            fetch.run(&wanted).await?.into_iter().collect()
        };
    let mut republish = Vec::new();
    for (author, newest) in authors.iter().zip(found) {
        let Some((item, signed)) = newest else {
            let error = format!("{author}: no mute list found on the DHT; the list held stays");
            store.mute_list_read(*author, Some(&error), now)?;
            report.errors.push(error);
            republish.extend(store.mute_list_item(*author)?);
            continue;
        };
        report.read += 1;
        let list = match item {
            ListItem::Inline(bytes) => MuteList::decode(&bytes, now).map_err(Error::from),
            ListItem::Torrent { created, infohash } => match fetched.remove(&infohash) {
                Some(Ok(list)) if list.created() == created => Ok(list),
                Some(Ok(_)) => Err(Error::MuteList(
                    upseed_core::mute_list::MuteListError::Torrent(format!(
                        "{infohash} holds a list made at another time than its item says"
                    )),
                )),
                Some(Err(e)) => Err(e.into()),
                // Not newer than the one held: nothing to fetch.
                None => {
                    store.mute_list_read(*author, None, now)?;
                    republish.extend(store.mute_list_item(*author)?);
                    continue;
                }
            },
        };
        let outcome = list.and_then(|list| {
            if list.author() == *author {
                Ok(list)
            } else {
                Err(Error::MuteListSigner {
                    key: author.to_z32(),
                    signer: list.author().to_z32(),
                })
            }
        });
        match outcome {
            Ok(list) => {
                if store.put_mute_list(&list, signed.as_ref(), now)? {
                    report.updated += 1;
                } else {
                    store.mute_list_read(*author, None, now)?;
                }
            }
            Err(e) => {
                let error = format!("{author}: {}", error_chain(&e));
                store.mute_list_read(*author, Some(&error), now)?;
                report.errors.push(error);
            }
        }
        republish.extend(store.mute_list_item(*author)?);
    }
    join_all(
        republish
            .iter()
            .map(|i| dht.republish_at(i, MUTE_LIST_SALT)),
    )
    .await;
    if report.updated > 0 {
        report.unseeded = unseed_listed(store, fetch).await?;
    }
    Ok(report)
}

/// Stops seeding the upvotes that a subscribed list's entry covers: what
/// the reader mutes, through a list or not, is not seeded by upseed's own
/// choice. Own records and pins stay.
async fn unseed_listed<C: TorrentClient>(
    store: &mut Store,
    fetch: &Fetch<'_, C>,
) -> Result<Vec<InfoHash>, Error> {
    let mutes = store.mute_set(fetch.now, None)?;
    let mut stop = Vec::new();
    for (hash, vote) in store.votes()? {
        if vote != crate::store::Vote::Upvoted || store.pinned(hash)? {
            continue;
        }
        if let Some(record) = store.record(hash)?
            && mutes
                .check(&record, fetch.now)
                .is_some_and(|by| by.list.is_some())
        {
            stop.push((hash, vote));
        }
    }
    if !stop.is_empty() {
        crate::vote::stop_seeding(store, fetch.config, fetch.client, &stop).await?;
    }
    Ok(stop.into_iter().map(|(h, _)| h).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use upseed_core::SecretKey;

    const NOW: u64 = 1_763_683_200;

    fn list(key: &SecretKey, created: u64, words: &[&str]) -> MuteList {
        let entries = words.iter().map(|w| ListEntry {
            target: MuteTarget::word(w).unwrap(),
            until: None,
        });
        MuteList::sign(key, created, entries).unwrap()
    }

    #[test]
    fn the_history_gives_the_last_published_list() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("store.db")).unwrap();
        let key = SecretKey::from_seed(&[5; 32]);
        let author = key.public_key();
        let (first, second) = (list(&key, NOW, &["a"]), list(&key, NOW + 1, &["b"]));
        let mut head: Option<Index> = None;
        for (at, published) in [(NOW, &first), (NOW + 1, &second)] {
            store
                .set_own_mute_list(true, Some(published.encoded()))
                .unwrap();
            let chain = match &head {
                Some(h) => store.index_chain(h.clone()).unwrap().0,
                None => Vec::new(),
            };
            let entry = index_entry(&store, &chain, at).unwrap().expect("a new m");
            let versions = Index::append(&key, head.as_ref(), &[entry], at).unwrap();
            for v in &versions {
                store.put_index(v, at).unwrap();
            }
            let newest = versions.last().unwrap().clone();
            store.set_index_head(&newest).unwrap();
            head = Some(newest);
        }
        let chain = store.index_chain(head.unwrap()).unwrap().0;
        assert_eq!(index_entry(&store, &chain, NOW + 1).unwrap(), None);
        assert_eq!(
            item_in_history(&store, author).unwrap(),
            Some(second.item()),
            "the latest m holds"
        );
    }
}
