//! Property tests: building then parsing round-trips, and any single bit
//! flipped in a torrent or its body makes verification fail.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use upseed_core::{CommentDraft, InfoHash, PostDraft, Record, SecretKey, Torrent};

const NOW: u64 = 2_000_000_000;

/// Text that passes the body rules: printable characters, LF and tab.
fn body_text(max: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            8 => proptest::char::range(' ', '~'),
            1 => Just('\n'),
            1 => Just('\t'),
            1 => proptest::char::range('\u{a0}', '\u{2000}'),
            1 => proptest::char::range('\u{3040}', '\u{30ff}'),
            1 => proptest::char::range('\u{1f300}', '\u{1f5ff}'),
        ],
        1..max,
    )
    .prop_map(|chars| chars.into_iter().collect())
}

fn record() -> impl Strategy<Value = Record> {
    (
        any::<[u8; 32]>(),
        0..NOW,
        body_text(600),
        proptest::option::of("[ -~]{1,40}"),
        proptest::option::of("[a-z0-9][a-z0-9_-]{0,20}"),
        proptest::option::of(any::<([u8; 20], [u8; 20])>()),
    )
        .prop_map(|(seed, created, body, title, community, parent)| {
            let key = SecretKey::from_seed(&seed);
            match parent {
                Some((parent, root)) => CommentDraft::new(
                    &body,
                    InfoHash::from_bytes(parent),
                    InfoHash::from_bytes(root),
                )
                .unwrap()
                .sign(&key, created)
                .unwrap(),
                None => {
                    let mut draft = PostDraft::new(&body).unwrap();
                    if let Some(title) = title {
                        draft = draft.title(&title).unwrap();
                    }
                    if let Some(community) = community {
                        draft = draft.community(&community).unwrap();
                    }
                    draft.sign(&key, created).unwrap()
                }
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn build_then_parse_round_trips(record in record(), trackers in proptest::collection::vec("http://[a-z]{1,8}\\.test/announce", 0..3)) {
        let body = record.body().unwrap().as_bytes().to_vec();
        let bytes = record.torrent_bytes(&trackers);
        let parsed = Torrent::parse(&bytes, NOW).unwrap();
        let mut unique = trackers.clone();
        unique.dedup();
        prop_assert_eq!(&parsed.trackers, &unique);
        let without_body = parsed.record.clone();
        prop_assert!(without_body.body().is_none());
        prop_assert_eq!(without_body.infohash(), record.infohash());
        prop_assert_eq!(parsed.record.with_body(&body).unwrap(), record.clone());
        // The same inputs always give the same bytes.
        let again = Record::from_info(record.info_bytes(), NOW).unwrap();
        prop_assert_eq!(again.info_bytes(), record.info_bytes());
        // And the JSON form survives a round trip through text.
        let json = serde_json::to_string(&record.to_json()).unwrap();
        prop_assert_eq!(serde_json::from_str::<upseed_core::RecordJson>(&json).unwrap(), record.to_json());
    }

    #[test]
    fn any_bit_flip_in_the_torrent_fails(record in record(), bit in any::<prop::sample::Index>()) {
        // Without trackers, every byte of the file is signed or structural.
        let bytes = record.torrent_bytes::<&str>(&[]);
        let body = record.body().unwrap().as_bytes();
        let mut flipped = bytes.clone();
        let at = bit.index(bytes.len() * 8);
        flipped[at / 8] ^= 1 << (at % 8);
        let result = Torrent::parse(&flipped, NOW).and_then(|t| t.record.with_body(body));
        prop_assert!(result.is_err(), "flipping bit {} was accepted", at);
    }

    #[test]
    fn any_bit_flip_in_the_body_fails(record in record(), bit in any::<prop::sample::Index>()) {
        let body = record.body().unwrap().as_bytes();
        let mut flipped = body.to_vec();
        let at = bit.index(body.len() * 8);
        flipped[at / 8] ^= 1 << (at % 8);
        let parsed = Record::from_info(record.info_bytes(), NOW).unwrap();
        prop_assert!(parsed.with_body(&flipped).is_err(), "flipping body bit {} was accepted", at);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = Torrent::parse(&bytes, NOW);
        let _ = Record::from_info(&bytes, NOW);
    }
}

#[test]
fn every_bit_of_one_torrent_is_covered() {
    // The exhaustive version of the property for one multi-piece post.
    let body = "x".repeat(40_000);
    let record = PostDraft::new(&body)
        .unwrap()
        .title("t")
        .unwrap()
        .sign(&SecretKey::from_seed(&[3; 32]), 1)
        .unwrap();
    let bytes = record.torrent_bytes::<&str>(&[]);
    for at in 0..bytes.len() * 8 {
        let mut flipped = bytes.clone();
        flipped[at / 8] ^= 1 << (at % 8);
        let result =
            Torrent::parse(&flipped, NOW).and_then(|t| t.record.with_body(body.as_bytes()));
        assert!(result.is_err(), "flipping bit {at} was accepted");
    }
}

fn signals() -> impl Strategy<Value = Vec<upseed_core::rank::Signals>> {
    use upseed_core::rank::Signals;
    proptest::collection::vec(
        (
            any::<[u8; 20]>(),
            0u64..4_000_000,
            prop_oneof![0u32..5, any::<u32>()],
            prop_oneof![0u32..5, any::<u32>()],
            proptest::option::of(0u64..4_000_000),
        ),
        0..200,
    )
    .prop_map(|rows| {
        rows.into_iter()
            .map(|(hash, age, seeders, downloads, comment)| Signals {
                infohash: upseed_core::InfoHash::from_bytes(hash),
                created: 1_800_000_000 - age,
                seeders,
                downloads,
                last_comment: comment.map(|c| 1_800_000_000 - c),
            })
            .collect()
    })
}

proptest! {
    /// Reading only the candidates that `candidates_since` names gives the
    /// same feed as reading every post.
    #[test]
    fn candidates_since_loses_no_post(posts in signals(), limit in 1usize..60, sort in 0usize..9) {
        use upseed_core::rank::{self, Sort, Window};
        let sort = [
            Sort::Hot, Sort::New, Sort::Active, Sort::Top(Window::Day), Sort::Top(Window::Week),
            Sort::Top(Window::Month), Sort::Top(Window::Year), Sort::Top(Window::All), Sort::Best,
        ][sort];
        let now = 1_800_000_000;
        let mut created: Vec<u64> = posts.iter().map(|p| p.created).collect();
        created.sort_unstable_by(|a, b| b.cmp(a));
        let nth = created.get(limit - 1).copied();
        let since = rank::candidates_since(sort, now, nth);
        let read: Vec<_> = posts.iter().filter(|p| since.is_none_or(|s| p.created >= s)).cloned().collect();
        prop_assert_eq!(rank::top_n(&read, sort, now, limit), rank::top_n(&posts, sort, now, limit));
    }
}
