//! Fuzzes record parsing, and checks upseed's bencode reader against bendy's.
//!
//! Invariants:
//! - no input panics `Torrent::parse` or `Record::from_info`;
//! - whatever parses re-encodes to the same info bytes;
//! - upseed's reader accepts an input only if bendy's does, and rejects one
//!   that bendy accepts only for a number over 64 bits or deep nesting.

#![no_main]

use bendy::decoding::{Decoder, Object};
use libfuzzer_sys::fuzz_target;
use upseed_core::{BencodeError, Record, Torrent, check_canonical};

const NOW: u64 = 2_000_000_000;

/// Walks everything bendy decodes, so that its errors surface.
fn bendy_walk(object: Object<'_, '_>) -> Result<(), bendy::decoding::Error> {
    match object {
        Object::List(mut list) => {
            while let Some(item) = list.next_object()? {
                bendy_walk(item)?;
            }
        }
        Object::Dict(mut dict) => {
            while let Some((_, value)) = dict.next_pair()? {
                bendy_walk(value)?;
            }
        }
        Object::Integer(_) | Object::Bytes(_) => {}
    }
    Ok(())
}

fn bendy_accepts(data: &[u8]) -> bool {
    let mut decoder = Decoder::new(data).with_max_depth(64);
    let Ok(Some(object)) = decoder.next_object() else {
        return false;
    };
    if bendy_walk(object).is_err() {
        return false;
    }
    matches!(decoder.next_object(), Ok(None))
}

fuzz_target!(|data: &[u8]| {
    if let Ok(torrent) = Torrent::parse(data, NOW) {
        let again = torrent.record.torrent_bytes(&torrent.trackers);
        let reparsed = Torrent::parse(&again, NOW).expect("re-encoded torrent parses");
        assert_eq!(reparsed.record, torrent.record);
    }
    if let Ok(record) = Record::from_info(data, NOW) {
        assert_eq!(record.info_bytes(), data);
    }
    let ours = check_canonical(data);
    let theirs = bendy_accepts(data);
    match ours {
        Ok(()) => assert!(theirs, "upseed accepted what bendy refuses"),
        Err(BencodeError::IntegerOutOfRange(_) | BencodeError::TooDeep(_)) => {}
        Err(error) => assert!(!theirs, "bendy accepted what upseed refuses: {error}"),
    }
});
