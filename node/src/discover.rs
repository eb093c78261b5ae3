//! Discovery without a server: announcing our records on the DHT, and
//! finding others' through followed outboxes, community boards and reply
//! boards. Every infohash a DHT item names is only a lead: the record is
//! fetched through the client, verified, and kept only if it is what the
//! item claimed (the followed author's, the community's in that bucket, a
//! comment in that thread). Anything else is a forgery and is dropped.

use std::collections::{HashMap, HashSet};

use upseed_core::index::{self, Index, IndexError};
use upseed_core::item::{self, BoardEntry, Outbox, SHARDS};
pub use upseed_core::lead::Expect;
use upseed_core::supersede::Supersede;
use upseed_core::{AddTorrent, Community, InfoHash, PublicKey, Record, SecretKey, TorrentClient};

use crate::Error;
use crate::config::Config;
use crate::dht::Dht;
use crate::fetch::{Fetch, FetchError};
use crate::store::Store;

/// What following up DHT leads did.
#[derive(Debug, Clone, Default, serde::Serialize, schemars::JsonSchema)]
pub struct Leads {
    /// Leads that named records we did not have.
    pub new: usize,
    /// Records fetched, verified and stored.
    pub stored: Vec<String>,
    /// Records that were not what their lead claimed: forgeries, dropped.
    pub rejected: Vec<String>,
    /// Leads whose fetch failed (not seeded, too slow, not a record).
    pub failed: usize,
    /// Records dropped because their author is muted.
    #[serde(default)]
    pub muted: usize,
    /// Records from boards dropped because their author, whom we do not
    /// trust, had [`BOARD_RECORDS_PER_AUTHOR`] stored in the last day;
    /// each backs off like a failed fetch, and may come in later.
    #[serde(default)]
    pub over_author_limit: usize,
}

/// The most records by one author a reader stores from boards in a day,
/// unless it trusts the author: a flooder with valid work still fills
/// nobody's store.
pub const BOARD_RECORDS_PER_AUTHOR: usize = 24;

/// The window of [`BOARD_RECORDS_PER_AUTHOR`]: a day.
pub const BOARD_AUTHOR_WINDOW_SECS: u64 = 86_400;

/// The tag on our outbox index torrents.
pub const INDEX_TAG: &str = "upseed-index";

/// Our identity and the means to seed what we publish.
pub struct Me<'a, C> {
    /// Our key.
    pub key: &'a SecretKey,
    /// The config: posts folder, trackers.
    pub config: &'a Config,
    /// Our client, which seeds our index.
    pub client: &'a C,
}

/// Announces a record we published: on its community's board or its
/// thread's reply board, and in our outbox.
pub async fn announce<C: TorrentClient>(
    dht: &Dht,
    store: &mut Store,
    me: &Me<'_, C>,
    record: &Record,
    now: u64,
) -> Result<Published, Error> {
    let entry = board_entry(store, record.infohash())?;
    // Both take a DHT query of their own: run them together.
    let (board, published) = futures_util::future::join(
        announce_on_board(dht, record, entry),
        publish_outbox(dht, store, me, now),
    )
    .await;
    board?;
    published
}

/// The board entry of our record `hash`: its proof of work, found once
/// (a fraction of a second) and kept, since sync puts the record back on
/// its board for 12 hours.
fn board_entry(store: &mut Store, hash: InfoHash) -> Result<BoardEntry, Error> {
    if let Some(nonce) = store.board_nonce(hash)? {
        let entry = BoardEntry { hash, nonce };
        if entry.proves_work() {
            return Ok(entry);
        }
    }
    let entry = BoardEntry::solve(hash);
    store.put_board_nonce(hash, entry.nonce)?;
    Ok(entry)
}

/// Puts a record on its board, as `entry` (its infohash and proof of
/// work): its thread's reply board, or its community's board for its
/// bucket and shard. A post outside any community has no board.
async fn announce_on_board(dht: &Dht, record: &Record, entry: BoardEntry) -> Result<(), Error> {
    match (record.root(), record.community()) {
        (Some(root), _) => {
            dht.append_board(&item::reply_board(root), &[entry]).await?;
        }
        (None, Some(community)) => {
            let board = item::community_board(
                community,
                item::bucket_of(record.created()),
                item::shard_of(record.infohash()),
            );
            dht.append_board(&board, &[entry]).await?;
        }
        (None, None) => {}
    }
    Ok(())
}

/// What publishing our outbox did.
#[derive(Debug, Clone, Default, serde::Serialize, schemars::JsonSchema)]
pub struct Published {
    /// The newest version of our outbox index, which the item names.
    pub index: Option<String>,
    /// Why the index could not be updated, if it could not: the item
    /// then names the previous version.
    pub index_error: Option<String>,
}

/// Appends what changed in our outbox to our index, seeds the new
/// version, and stops seeding the version it replaces (unless that one
/// closed a segment, which the history still needs). With nothing new, it
/// seeds again any version the client no longer has.
pub async fn update_index<C: TorrentClient>(
    store: &mut Store,
    me: &Me<'_, C>,
    now: u64,
) -> Result<Option<InfoHash>, Error> {
    let mine = me.key.public_key();
    let head = store.index_head(mine)?;
    let (chain, published) = match head.clone() {
        Some(head) => {
            let chain = store.index_chain(head)?.0;
            let published = index::fold_chain(&chain)?;
            (chain, published)
        }
        None => (Vec::new(), Outbox::default()),
    };
    let mut entries = index::changes(&published, &store.outbox(mine)?);
    // Our edits and deletes the history does not list yet.
    let listed: HashSet<Vec<u8>> = chain
        .iter()
        .flat_map(Index::entries)
        .filter_map(|e| match e {
            index::Entry::Supersede(encoded) => Some(encoded.clone()),
            _ => None,
        })
        .collect();
    entries.extend(
        store
            .supersedes_by(mine)?
            .into_iter()
            .filter(|e| !listed.contains(e))
            .map(index::Entry::Supersede),
    );
    entries.extend(crate::mute_list::index_entry(store, &chain, now)?);
    let versions = Index::append(me.key, head.as_ref(), &entries, now)?;
    let Some(newest) = versions.last() else {
        // Nothing new: make sure the client still seeds what followers
        // need (the newest version and each closed segment).
        let hashes: Vec<InfoHash> = chain.iter().map(Index::infohash).collect();
        let held: HashSet<InfoHash> = me
            .client
            .list(Some(&hashes))
            .await?
            .iter()
            .map(|t| t.infohash)
            .collect();
        let lost: Vec<Index> = chain
            .into_iter()
            .filter(|v| !held.contains(&v.infohash()))
            .collect();
        seed_index(me, &lost).await?;
        return Ok(head.map(|h| h.infohash()));
    };
    seed_index(me, &versions).await?;
    for version in &versions {
        store.put_index(version, now)?;
    }
    store.set_index_head(newest)?;
    if let Some(old) = head.filter(|o| newest.older() != Some(o.infohash())) {
        // Every entry of the replaced version is in the new one.
        me.client.remove(&[old.infohash()], true).await?;
    }
    Ok(Some(newest.infohash()))
}

/// Writes index versions to the posts folder and has the client seed them.
async fn seed_index<C: TorrentClient>(me: &Me<'_, C>, versions: &[Index]) -> Result<(), Error> {
    if versions.is_empty() {
        return Ok(());
    }
    let dir = &me.config.posts.dir;
    let mut adds = Vec::new();
    for version in versions {
        crate::files::write_file(dir, version.name(), version.body())?;
        adds.push(
            AddTorrent::from_torrent(
                version.torrent_bytes(&me.config.trackers.urls),
                me.config.client_path(dir),
            )?
            .with_tags([INDEX_TAG])
            .with_data_present(),
        );
    }
    me.client.add(&adds).await?;
    Ok(())
}

/// Updates our index, then publishes our outbox item as the store has
/// it. A failed index update does not stop the item.
pub async fn publish_outbox<C: TorrentClient>(
    dht: &Dht,
    store: &mut Store,
    me: &Me<'_, C>,
    now: u64,
) -> Result<Published, Error> {
    let index_error = update_index(store, me, now)
        .await
        .err()
        .map(|e| crate::error_chain(&e));
    let outbox = store.outbox(me.key.public_key())?;
    dht.publish_outbox(me.key, &outbox).await?;
    Ok(Published {
        index: outbox.index.map(|h| h.to_string()),
        index_error,
    })
}

/// The whole outbox history of `author`, from the index version `head`
/// their item names: the version and any older segment not kept yet are
/// fetched through the client (unless `prefetched` holds the head's
/// outcome) and verified; a version that rewrites the one kept before is
/// refused.
async fn read_index<C: TorrentClient>(
    store: &mut Store,
    fetch: &Fetch<'_, C>,
    author: PublicKey,
    head: InfoHash,
    prefetched: Option<Result<Index, FetchError>>,
    now: u64,
) -> Result<Outbox, Error> {
    let kept = store.index_head(author)?;
    let head = match kept.clone().filter(|k| k.infohash() == head) {
        Some(kept) => kept,
        None => {
            let fetched = match prefetched {
                Some(fetched) => fetched?,
                None => fetch.one(head).await?,
            };
            if fetched.author() != author {
                return Err(Error::IndexSigner {
                    index: head,
                    author: author.to_string(),
                });
            }
            if let Some(kept) = &kept {
                fetched.check_extends(kept)?;
                if fetched.created() < kept.created() {
                    return Err(Error::IndexRollback {
                        index: head,
                        kept: kept.infohash(),
                    });
                }
            }
            store.put_index(&fetched, now)?;
            fetched
        }
    };
    // One call fetches at most this many older segments, within about
    // two fetch timeouts; what it kept is not fetched again next time.
    let started = tokio::time::Instant::now();
    let mut fetched = 0;
    loop {
        let (chain, missing) = store.index_chain(head.clone())?;
        let Some(missing) = missing else {
            let full = index::fold_chain(&chain)?;
            store.set_index_head(&head)?;
            return Ok(full);
        };
        if chain.len() >= index::MAX_SEGMENTS {
            return Err(IndexError::ChainTooLong.into());
        }
        if fetched >= SEGMENTS_PER_READ || started.elapsed() > fetch.timeout * 2 {
            return Err(Error::IndexIncomplete {
                index: head.infohash(),
                read: chain.len(),
            });
        }
        fetched += 1;
        let older: Index = fetch.one(missing).await?;
        if older.author() != author {
            return Err(IndexError::WrongAuthor(missing).into());
        }
        store.put_index(&older, now)?;
    }
}

/// How many upvoted records of authors we do not follow one sync checks
/// for edits and deletes on the DHT.
const SUPERSEDE_CHECKS_PER_SYNC: usize = 16;

/// The supersede records in the outbox history of `author` that the store
/// keeps.
fn supersedes_in_history(store: &Store, author: PublicKey) -> Result<Vec<Supersede>, Error> {
    let Some(head) = store.index_head(author)? else {
        return Ok(Vec::new());
    };
    let (chain, _) = store.index_chain(head)?;
    Ok(chain
        .iter()
        .flat_map(Index::entries)
        .filter_map(|e| match e {
            index::Entry::Supersede(encoded) => Supersede::decode(encoded).ok(),
            _ => None,
        })
        .collect())
}

/// Keeps the supersede records in `found` that `author` signed (of a
/// target that, when stored, is theirs), and returns leads for the new
/// versions the store lacks.
pub fn take_supersedes(
    store: &mut Store,
    author: PublicKey,
    found: impl IntoIterator<Item = Supersede>,
    now: u64,
) -> Result<Vec<(InfoHash, Expect)>, Error> {
    let mut leads = Vec::new();
    for record in found {
        if record.author() != author {
            continue;
        }
        if let Some(target) = store.record(record.target())?
            && record.check_target(&target).is_err()
        {
            continue;
        }
        store.put_supersede(&record, now)?;
        if let Some(replacement) = record.replacement()
            && store.record(replacement)?.is_none()
        {
            leads.push((replacement, Expect::Author(author)));
        }
    }
    Ok(leads)
}

/// The most older segments of a followed index one read fetches.
const SEGMENTS_PER_READ: usize = 8;

/// Fetches (at most `limit` of) the leads the store lacks, and keeps
/// those that are what their lead claimed.
pub async fn follow_leads<C: TorrentClient>(
    store: &mut Store,
    fetch: &Fetch<'_, C>,
    leads: Vec<(InfoHash, Expect)>,
    limit: usize,
) -> Result<Leads, Error> {
    let now = fetch.now;
    let known = store.known_hashes()?;
    // Leads from strangers (community boards) wait out the back-off of a
    // failed fetch; those from followed authors and our own threads come
    // first, and are always tried.
    let backing_off = store.backing_off(now)?;
    // Nothing muted is fetched where the lead tells: a muted author's
    // outbox, a muted community's boards, a muted thread's reply board,
    // and records already found to be by a muted author.
    let mutes = store.mute_set(now, None)?;
    let dropped = store.muted_records(now)?;
    let muted = |e: &Expect| match e {
        Expect::Author(key) => mutes.author(key, now),
        Expect::Community(c, _) => mutes.community(c.as_str(), now),
        Expect::Root(post) => mutes.thread(post, now),
    };
    let mut seen = HashSet::new();
    let mut wanted: Vec<(InfoHash, Expect)> = leads
        .into_iter()
        .filter(|(h, e)| {
            let waiting = matches!(e, Expect::Community(..)) && backing_off.contains(h);
            let skip = muted(e) || dropped.contains(h);
            !known.contains(h) && !waiting && !skip && seen.insert(*h)
        })
        .collect();
    wanted.sort_by_key(|(_, e)| matches!(e, Expect::Community(..)));
    wanted.truncate(limit);
    let mut out = Leads {
        new: wanted.len(),
        ..Leads::default()
    };
    if wanted.is_empty() {
        return Ok(out);
    }
    let hashes: Vec<InfoHash> = wanted.iter().map(|(h, _)| *h).collect();
    for (hash, outcome) in fetch.run::<Record>(&hashes).await? {
        let expect = wanted.iter().find(|(h, _)| *h == hash).map(|(_, e)| e);
        match outcome {
            Ok(record) if mutes.author(&record.author(), now) => {
                // Learnt only once fetched: dropped, and not fetched again
                // while the mute holds.
                store.put_muted_record(hash, record.author(), now)?;
                out.muted += 1;
            }
            Ok(record)
                if expect.is_some_and(|e| !matches!(e, Expect::Author(_)) && e.holds(&record))
                    && !store.trusts(record.author())?
                    && store.records_by_since(
                        record.author(),
                        now.saturating_sub(BOARD_AUTHOR_WINDOW_SECS),
                    )? >= BOARD_RECORDS_PER_AUTHOR =>
            {
                store.fetch_failed(
                    hash,
                    "its author had the most records a day a board may bring stored already",
                    now,
                )?;
                out.over_author_limit += 1;
            }
            Ok(record) if expect.is_some_and(|e| e.holds(&record)) => {
                store.put_record(&record, now)?;
                out.stored.push(hash.to_string());
            }
            Ok(_) => {
                // A valid record, misplaced: dropped here, never barred, so
                // that its own lead (its author's outbox, its own board)
                // still brings it in; this lead backs off like a failure.
                store.fetch_failed(hash, "named on a DHT item it does not belong to", now)?;
                out.rejected.push(hash.to_string());
            }
            Err(e) if e.is_foreign() => {
                store.put_foreign(hash, &e.to_string(), now)?;
                out.rejected.push(hash.to_string());
            }
            Err(e) => {
                store.fetch_failed(hash, &e.to_string(), now)?;
                out.failed += 1;
            }
        }
    }
    Ok(out)
}

/// Leads from a community's boards over the buckets from `since` to `now`,
/// newest bucket first. A board is settled once its bucket ended more than
/// two buckets ago (writers put their posts back on the boards of the last
/// two buckets only): one read after that is its last, and later calls
/// use the union the store kept.
pub async fn community_leads(
    dht: &Dht,
    store: &mut Store,
    community: &Community,
    since: u64,
    now: u64,
) -> Result<Vec<(InfoHash, Expect)>, Error> {
    let mut boards = Vec::new();
    let mut settled = Vec::new();
    for bucket in (item::bucket_of(since)..=item::bucket_of(now)).rev() {
        let settles = (bucket + 3) * item::BUCKET_SECS;
        for shard in 0..SHARDS {
            let key = item::community_board(community, bucket, shard).public_key();
            if store.board_read_at(key)?.is_some_and(|at| at >= settles) {
                settled.push((bucket, key));
            } else {
                boards.push((bucket, key));
            }
        }
    }
    let read =
        futures_util::future::join_all(boards.iter().map(|(_, key)| dht.read_board(key))).await;
    let mut leads = Vec::new();
    for ((bucket, key), entries) in boards.into_iter().zip(read) {
        for hash in store.board_seen(key, &entries, now)? {
            leads.push((hash, Expect::Community(community.clone(), bucket)));
        }
        store.set_board_read(key, now)?;
    }
    for (bucket, key) in settled {
        for hash in store.board_seen(key, &[], now)? {
            leads.push((hash, Expect::Community(community.clone(), bucket)));
        }
    }
    Ok(leads)
}

/// Leads to the comments of `post`: its reply board, and the replies its
/// author's outbox keeps.
pub async fn reply_leads(
    dht: &Dht,
    store: &mut Store,
    post: &Record,
    now: u64,
) -> Result<Vec<(InfoHash, Expect)>, Error> {
    let board = item::reply_board(post.infohash()).public_key();
    let (entries, outbox) =
        futures_util::future::join(dht.read_board(&board), dht.read_outbox(&post.author())).await;
    let mut hashes = store.board_seen(board, &entries, now)?;
    if let Some((outbox, _)) = outbox {
        hashes = item::merge(&hashes, &outbox.replies);
    }
    Ok(hashes
        .into_iter()
        .map(|h| (h, Expect::Root(post.infohash())))
        .collect())
}

/// `sync` reads the reply boards of our posts of the last 7 days ...
const REPLY_WATCH_SECS: u64 = 7 * 86_400;
/// ... at most this many of them, newest first.
const REPLY_WATCH_POSTS: usize = 64;

/// What one DHT round of `sync` did.
#[derive(Debug, Clone, Default, serde::Serialize, schemars::JsonSchema)]
pub struct DhtReport {
    /// Followed keys whose outbox was found.
    pub outboxes: usize,
    /// Followed keys with no outbox on the DHT.
    pub outboxes_missing: usize,
    /// Followed outboxes the DHT answered with a version older than the
    /// one kept: replays, ignored in favour of the kept version.
    pub outboxes_replayed: usize,
    /// Upvotes signed in followed outboxes.
    pub signed_votes: usize,
    /// Followed outbox indexes read to the start of their history.
    pub indexes: usize,
    /// Why a followed outbox index could not be read, one line each.
    pub index_errors: Vec<String>,
    /// Signed votes withdrawn, as the full histories show.
    pub signed_votes_withdrawn: usize,
    /// Edits and deletes read (from followed histories and records' items).
    #[serde(default)]
    pub supersedes: usize,
    /// What reading the subscribed mute lists did.
    #[serde(default)]
    pub mute_lists: crate::mute_list::ListsRead,
    /// What the web of trust holds, and the second-hop outboxes read.
    #[serde(default)]
    pub trust: crate::trust::TrustReport,
    /// What following the leads did.
    pub leads: Leads,
    /// Whether our own outbox was published.
    pub published: bool,
    /// What publishing it did, when it was.
    pub publish: Option<Published>,
}

/// The DHT round of `sync`, fetching at most `limit` leads, each within
/// `timeout`: followed outboxes, the reply boards of our
/// posts, our outbox again (with the replies seen), and the followed
/// outboxes republished.
pub async fn sync_dht<C: TorrentClient>(
    dht: &Dht,
    store: &mut Store,
    config: &Config,
    client: &C,
    key: Option<&SecretKey>,
    (limit, timeout): (usize, std::time::Duration),
    now: u64,
) -> Result<DhtReport, Error> {
    let mut report = DhtReport::default();
    let mut leads = Vec::new();
    let fetch = Fetch::quiet(client, config, timeout, now);
    // Each DHT read waits for its slowest node: read all at once.
    let follows = store.follows()?;
    let read = futures_util::future::join_all(follows.iter().map(|f| dht.read_outbox(f))).await;
    // A version older than the one kept is a replay, which would roll the
    // follower back (withdrawn votes returning): the kept one stands.
    let mut found = Vec::with_capacity(read.len());
    for (followed, read) in follows.iter().zip(read) {
        let kept = store.outbox_item(*followed)?;
        found.push(match (read, kept) {
            (Some((_, signed)), Some(kept)) if kept.seq > signed.seq() => {
                report.outboxes_replayed += 1;
                Outbox::decode(&kept.value).ok().map(|o| (o, None))
            }
            (Some((outbox, signed)), _) => Some((outbox, Some(signed))),
            (None, _) => None,
        });
    }
    // The index versions we lack, fetched together: one wait at most.
    let mut wanted = Vec::new();
    for (followed, found) in follows.iter().zip(&found) {
        if let Some(head) = found.as_ref().and_then(|(o, _)| o.index)
            && store.index_head(*followed)?.map(|k| k.infohash()) != Some(head)
        {
            wanted.push(head);
        }
    }
    let mut heads: HashMap<InfoHash, Result<Index, FetchError>> = if wanted.is_empty() {
        HashMap::new()
    } else {
        fetch.run(&wanted).await?.into_iter().collect()
    };
    let mut republish = Vec::new();
    for (followed, found) in follows.into_iter().zip(found) {
        let Some((outbox, signed)) = found else {
            report.outboxes_missing += 1;
            // Expired while its author was away: put back the copy we kept.
            if let Some(kept) = store.outbox_item(followed)? {
                republish.push(kept);
            }
            continue;
        };
        report.outboxes += 1;
        if let Some(signed) = signed {
            store.put_outbox_item(
                followed,
                signed.seq(),
                signed.signature(),
                signed.value(),
                now,
            )?;
        }
        let (mut posts, mut upvotes) = (outbox.posts.clone(), outbox.upvotes.clone());
        if outbox.index.is_none() {
            // The item holds the whole list: nothing was cut into a history.
            store.set_follow_list(followed, &outbox.follows)?;
        }
        if let Some(head) = outbox.index {
            match read_index(store, &fetch, followed, head, heads.remove(&head), now).await {
                Ok(full) => {
                    report.indexes += 1;
                    store.set_follow_list(followed, &full.follows)?;
                    let listed = supersedes_in_history(store, followed)?;
                    report.supersedes += listed.len();
                    leads.extend(take_supersedes(store, followed, listed, now)?);
                    posts = item::merge(&posts, &full.posts);
                    upvotes = item::merge(&upvotes, &full.upvotes);
                    report.signed_votes_withdrawn +=
                        store.retract_signed_votes(followed, &upvotes)?;
                }
                Err(e) => {
                    report
                        .index_errors
                        .push(format!("{followed}: {}", crate::error_chain(&e)));
                    // Without the history, the item's follows (its newest)
                    // join the list kept.
                    let mut kept = store
                        .follow_lists(&[followed])?
                        .remove(&followed)
                        .unwrap_or_default();
                    for key in &outbox.follows {
                        if !kept.contains(key) {
                            kept.push(*key);
                        }
                    }
                    store.set_follow_list(followed, &kept)?;
                }
            }
        }
        store.put_signed_votes(followed, &upvotes, now)?;
        report.signed_votes += upvotes.len();
        leads.extend(posts.iter().map(|h| (*h, Expect::Author(followed))));
        // Anyone may put a signed item again, which keeps it from expiring.
        if let Some(kept) = store.outbox_item(followed)? {
            republish.push(kept);
        }
    }
    let mine = match key {
        Some(key) => store.outbox(key.public_key())?.posts,
        None => Vec::new(),
    };
    let recent = now.saturating_sub(2 * item::BUCKET_SECS);
    let watched = now.saturating_sub(REPLY_WATCH_SECS);
    let mut to_board = Vec::new();
    let mut watch = Vec::new();
    for hash in mine {
        let Some(record) = store.record(hash)? else {
            continue;
        };
        if record.root().is_none() && record.created() >= watched && watch.len() < REPLY_WATCH_POSTS
        {
            watch.push(record.infohash());
        }
        if record.created() >= recent {
            to_board.push(record);
        }
    }
    // Our posts' reply boards; the replies our own outbox keeps are
    // already in the store.
    let boards: Vec<PublicKey> = watch
        .iter()
        .map(|p| item::reply_board(*p).public_key())
        .collect();
    let read = futures_util::future::join_all(boards.iter().map(|b| dht.read_board(b))).await;
    for ((post, board), entries) in watch.iter().zip(boards).zip(read) {
        for hash in store.board_seen(board, &entries, now)? {
            leads.push((hash, Expect::Root(*post)));
        }
    }
    // Edits and deletes of what we upvoted from authors we do not follow,
    // from each record's own item: at most a few a round, oldest checked
    // first, so that our client stops seeding deleted and replaced versions.
    let followed: HashSet<PublicKey> = store.follows()?.into_iter().collect();
    let mut checks = Vec::new();
    for hash in store.supersede_checks(SUPERSEDE_CHECKS_PER_SYNC * 4)? {
        if let Some(record) = store.record(hash)?
            && !followed.contains(&record.author())
            && key.is_none_or(|k| k.public_key() != record.author())
            && checks.len() < SUPERSEDE_CHECKS_PER_SYNC
        {
            checks.push(record);
        }
    }
    let found = futures_util::future::join_all(
        checks
            .iter()
            .map(|r| dht.read_supersedes(r.author(), r.infohash())),
    )
    .await;
    for (record, found) in checks.iter().zip(found) {
        store.supersede_checked(record.infohash(), now)?;
        report.supersedes += found.len();
        leads.extend(take_supersedes(store, record.author(), found, now)?);
    }
    // The subscribed mute lists, before the leads: a list may mute some.
    let lists = store.subscribed_lists()?;
    if !lists.is_empty() {
        report.mute_lists = crate::mute_list::read_lists(dht, store, &fetch, &lists).await?;
    }
    // The web of trust, from the follow lists just read, less what the
    // lists mute.
    report.trust =
        crate::trust::refresh(dht, store, config, key.map(SecretKey::public_key), now).await?;
    report.leads = follow_leads(store, &fetch, leads, limit).await?;
    if let Some(key) = key {
        // Boards may drop items after 2 hours: our records of the last
        // two buckets go back on theirs (appending is idempotent), with
        // our outbox and the followed ones, all at once.
        let me = Me {
            key,
            config,
            client,
        };
        // Our mute list, signed again if our mutes changed, and put back.
        if store.own_mute_list()?.0 {
            let list = crate::mute_list::sign_own(store, (key, config, client), now).await?;
            if let Err(e) = dht.put_mute_list(key, &list).await {
                report.index_errors.push(format!(
                    "our mute list: {}",
                    crate::error_chain(&Error::from(e))
                ));
            }
        }
        let mut entries = Vec::with_capacity(to_board.len());
        for record in &to_board {
            entries.push(board_entry(store, record.infohash())?);
        }
        let (_, _, published) = futures_util::future::join3(
            futures_util::future::join_all(
                to_board
                    .iter()
                    .zip(entries)
                    .map(|(r, e)| announce_on_board(dht, r, e)),
            ),
            futures_util::future::join_all(republish.iter().map(|k| dht.republish_stored(k))),
            publish_outbox(dht, store, &me, now),
        )
        .await;
        report.publish = published.ok();
        report.published = report.publish.is_some();
    } else {
        futures_util::future::join_all(republish.iter().map(|k| dht.republish_stored(k))).await;
    }
    Ok(report)
}
