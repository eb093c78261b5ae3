//! Golden vectors: fixed inputs in `vectors/<name>/input.json` must give the
//! exact bytes stored beside them, and those bytes must verify.
//!
//! To (re)write the stored outputs after a deliberate protocol change, run
//! `UPSEED_TEST_BLESS=1 cargo test -p upseed-tests --test vectors` and review the diff.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use upseed_core::{CommentDraft, InfoHash, PostDraft, Record, SecretKey, Torrent};

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Input {
    /// The author's 32-byte ed25519 seed, hex.
    seed: String,
    /// Creation time, unix seconds.
    created: u64,
    /// The body as typed; CRLF becomes LF when signing.
    body: String,
    title: Option<String>,
    community: Option<String>,
    /// A comment's parent infohash, hex.
    parent: Option<InfoHash>,
    /// A comment's root infohash, hex.
    root: Option<InfoHash>,
    trackers: Vec<String>,
}

impl Input {
    fn build(&self) -> Record {
        let mut seed = [0u8; 32];
        hex::decode_to_slice(&self.seed, &mut seed).unwrap();
        let key = SecretKey::from_seed(&seed);
        match (self.parent, self.root) {
            (None, None) => {
                let mut draft = PostDraft::new(&self.body).unwrap();
                if let Some(title) = &self.title {
                    draft = draft.title(title).unwrap();
                }
                if let Some(community) = &self.community {
                    draft = draft.community(community).unwrap();
                }
                draft.sign(&key, self.created).unwrap()
            }
            (Some(parent), Some(root)) => CommentDraft::new(&self.body, parent, root)
                .unwrap()
                .sign(&key, self.created)
                .unwrap(),
            _ => panic!("a comment vector needs both parent and root"),
        }
    }
}

/// Every file a vector stores besides its input.
struct Outputs {
    torrent: Vec<u8>,
    body: Vec<u8>,
    signed_message_hex: String,
    infohash: String,
    json: String,
}

impl Outputs {
    fn of(record: &Record, trackers: &[String]) -> Self {
        let mut json = serde_json::to_string_pretty(&record.to_json()).unwrap();
        json.push('\n');
        Self {
            torrent: record.torrent_bytes(trackers),
            body: record.body().unwrap().as_bytes().to_vec(),
            signed_message_hex: format!("{}\n", hex::encode(record.signed_message())),
            infohash: format!("{}\n", record.infohash()),
            json,
        }
    }

    fn files(&self) -> [(&'static str, &[u8]); 5] {
        [
            ("record.torrent", &self.torrent),
            ("body.txt", &self.body),
            ("signed-message.hex", self.signed_message_hex.as_bytes()),
            ("infohash", self.infohash.as_bytes()),
            ("record.json", self.json.as_bytes()),
        ]
    }
}

fn vector_dirs() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("vectors");
    let mut dirs: Vec<_> = fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("input.json").exists())
        .collect();
    dirs.sort();
    dirs
}

/// Printable ASCII as is, everything else as `\xNN`: a reviewable byte dump.
fn escape(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|&b| match b {
            b'\\' => "\\\\".to_owned(),
            0x20..=0x7e => (b as char).to_string(),
            _ => format!("\\x{b:02x}"),
        })
        .collect()
}

#[test]
fn vectors_match_their_stored_bytes() {
    let dirs = vector_dirs();
    let bless = std::env::var_os("UPSEED_TEST_BLESS").is_some();
    for dir in &dirs {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let input: Input =
            serde_json::from_slice(&fs::read(dir.join("input.json")).unwrap()).unwrap();
        let record = input.build();
        let outputs = Outputs::of(&record, &input.trackers);
        for (file, bytes) in outputs.files() {
            let path = dir.join(file);
            if bless {
                fs::write(&path, bytes).unwrap();
            }
            let stored = fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert!(
                stored == bytes,
                "{name}/{file} differs from what the inputs give"
            );
        }
        insta::assert_snapshot!(
            format!("vector-{name}"),
            format!(
                "infohash: {}\nname: {}\nsigned message: {}\ntorrent: {}\n",
                record.infohash(),
                record.name(),
                escape(&record.signed_message()),
                escape(&outputs.torrent)
            )
        );
    }
    assert!(
        dirs.len() >= 3,
        "expected a post, a comment and a nested comment"
    );
}

#[test]
fn stored_vectors_verify_and_round_trip() {
    for dir in vector_dirs() {
        let input: Input =
            serde_json::from_slice(&fs::read(dir.join("input.json")).unwrap()).unwrap();
        let torrent = fs::read(dir.join("record.torrent")).unwrap();
        let body = fs::read(dir.join("body.txt")).unwrap();
        let parsed = Torrent::parse(&torrent, input.created).unwrap();
        assert_eq!(parsed.trackers, input.trackers);
        let record = parsed.record.with_body(&body).unwrap();
        assert_eq!(record, input.build());
        let stored_hash = fs::read_to_string(dir.join("infohash")).unwrap();
        assert_eq!(record.infohash().to_string(), stored_hash.trim());
        assert_eq!(record.root().is_some(), input.root.is_some());
    }
}

#[test]
fn comment_vectors_chain_to_the_post() {
    let read = |name: &str| -> Record {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("vectors")
            .join(name);
        let torrent = fs::read(dir.join("record.torrent")).unwrap();
        Torrent::parse(&torrent, u64::MAX / 2).unwrap().record
    };
    let post = read("1-post");
    let comment = read("2-comment");
    let nested = read("3-nested-comment");
    assert_eq!(comment.parent(), Some(post.infohash()));
    assert_eq!(comment.root(), Some(post.infohash()));
    assert_eq!(nested.parent(), Some(comment.infohash()));
    assert_eq!(nested.root(), Some(post.infohash()));
}

/// The DHT formats of PROTOCOL.md §17, in `vectors/dht.json`: an outbox
/// item, a community board and a reply board, each from fixed inputs,
/// with the value, the derived keys and the BEP 44 signature expected.
#[test]
fn dht_vectors_match() {
    use upseed_core::item::{self, BOARD_SALT, OUTBOX_SALT, Outbox};
    use upseed_core::{Community, PublicKey};

    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("vectors/dht.json");
    let mut doc: serde_json::Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
    let hash = |v: &serde_json::Value| -> InfoHash { v.as_str().unwrap().parse().unwrap() };
    let hashes = |v: &serde_json::Value| -> Vec<InfoHash> {
        v.as_array().unwrap().iter().map(hash).collect()
    };
    let seed = |v: &serde_json::Value| -> SecretKey {
        let mut seed = [0u8; 32];
        hex::decode_to_slice(v.as_str().unwrap(), &mut seed).unwrap();
        SecretKey::from_seed(&seed)
    };
    let mut computed = serde_json::Map::new();

    // The outbox item.
    let o = &doc["outbox"]["input"];
    let key = seed(&o["seed"]);
    let follows = o["follows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| {
            let mut bytes = [0u8; 32];
            hex::decode_to_slice(k.as_str().unwrap(), &mut bytes).unwrap();
            PublicKey::from_bytes(&bytes).unwrap()
        })
        .collect();
    let outbox = Outbox {
        name: o["name"].as_str().map(str::to_owned),
        about: o["about"].as_str().map(str::to_owned),
        posts: hashes(&o["posts"]),
        upvotes: hashes(&o["upvotes"]),
        follows,
        replies: hashes(&o["replies"]),
        index: Some(hash(&o["index"])),
    };
    let value = outbox.encode().unwrap();
    let seq = o["seq"].as_i64().unwrap();
    assert_eq!(Outbox::decode(&value).unwrap(), outbox);
    computed.insert(
        "outbox".into(),
        serde_json::json!({
            "public_key": hex::encode(key.public_key().as_bytes()),
            "value": hex::encode(&value),
            "signable": hex::encode(item::signable(OUTBOX_SALT, seq, &value)),
            "signature": hex::encode(item::sign_item(&key, OUTBOX_SALT, seq, &value)),
        }),
    );

    // A community board: the name as a user typed it, normalised.
    let c = &doc["community_board"]["input"];
    let community = Community::normalize(c["community"].as_str().unwrap()).unwrap();
    let bucket = item::bucket_of(c["created"].as_u64().unwrap());
    let shard = item::shard_of(hash(&c["entries"][0]));
    let board = item::community_board(&community, bucket, shard);
    let entries: Vec<item::BoardEntry> = hashes(&c["entries"])
        .into_iter()
        .map(item::BoardEntry::solve)
        .collect();
    let value = item::encode_board(&entries);
    let seq = c["seq"].as_i64().unwrap();
    computed.insert(
        "community_board".into(),
        serde_json::json!({
            "bucket": bucket,
            "shard": shard,
            "difficulty": upseed_core::pow::BOARD_DIFFICULTY,
            "nonces": entries.iter().map(|e| e.nonce).collect::<Vec<_>>(),
            "seed": hex::encode(*board.to_seed()),
            "public_key": hex::encode(board.public_key().as_bytes()),
            "value": hex::encode(&value),
            "signature": hex::encode(item::sign_item(&board, BOARD_SALT, seq, &value)),
        }),
    );

    // A reply board.
    let r = &doc["reply_board"]["input"];
    let board = item::reply_board(hash(&r["post"]));
    computed.insert(
        "reply_board".into(),
        serde_json::json!({
            "seed": hex::encode(*board.to_seed()),
            "public_key": hex::encode(board.public_key().as_bytes()),
        }),
    );

    for (name, expected) in computed {
        if std::env::var_os("UPSEED_TEST_BLESS").is_some() {
            doc[&name]["expected"] = expected;
        } else {
            assert_eq!(doc[&name]["expected"], expected, "vectors/dht.json: {name}");
        }
    }
    if std::env::var_os("UPSEED_TEST_BLESS").is_some() {
        let mut text = serde_json::to_string_pretty(&doc).unwrap();
        text.push('\n');
        fs::write(&path, text).unwrap();
    }
}

/// An outbox index chain (PROTOCOL.md §18) in `vectors/dht.json`: two
/// appends, the second too big for the first segment, so three versions
/// over two segments.
#[test]
fn index_chain_vector_matches() {
    use sha2::Digest;
    use upseed_core::PublicKey;
    use upseed_core::index::{Entry, Index};

    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("vectors/dht.json");
    let mut doc: serde_json::Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
    let input = &doc["index_chain"]["input"];
    let mut seed = [0u8; 32];
    hex::decode_to_slice(input["seed"].as_str().unwrap(), &mut seed).unwrap();
    let key = SecretKey::from_seed(&seed);
    let hash_of = |i: u64| -> InfoHash {
        let mut h = sha1::Sha1::new();
        h.update(b"entry");
        h.update((i as u32).to_be_bytes());
        InfoHash::from_bytes(h.finalize().into())
    };
    let mut head: Option<Index> = None;
    let mut versions = Vec::new();
    for append in input["appends"].as_array().unwrap() {
        let mut entries = Vec::new();
        for pair in append["entries"].as_array().unwrap() {
            let tag = pair[0].as_str().unwrap();
            let value = &pair[1];
            let hashes: Vec<InfoHash> = if let Some(i) = value["hash"].as_u64() {
                vec![hash_of(i)]
            } else if let Some(range) = value["hashes"].as_array() {
                (range[0].as_u64().unwrap()..range[1].as_u64().unwrap())
                    .map(hash_of)
                    .collect()
            } else {
                Vec::new()
            };
            let text = value.as_str().unwrap_or_default();
            let key_of = |t: &str| {
                let mut bytes = [0u8; 32];
                hex::decode_to_slice(t, &mut bytes).unwrap();
                PublicKey::from_bytes(&bytes).unwrap()
            };
            match tag {
                "p" => entries.extend(hashes.into_iter().map(Entry::Post)),
                "u" => entries.extend(hashes.into_iter().map(Entry::Upvote)),
                "-u" => entries.extend(hashes.into_iter().map(Entry::Unvote)),
                "f" => entries.push(Entry::Follow(key_of(text))),
                "n" => entries.push(Entry::Name(text.to_owned())),
                "a" => entries.push(Entry::About(text.to_owned())),
                other => panic!("tag {other} is not in the vector's recipe"),
            }
        }
        let made = Index::append(
            &key,
            head.as_ref(),
            &entries,
            append["created"].as_u64().unwrap(),
        )
        .unwrap();
        head = made.last().cloned();
        versions.extend(made);
    }
    let hex_of = |h: Option<InfoHash>| h.map(|h| h.to_string());
    let expected: Vec<serde_json::Value> = versions
        .iter()
        .map(|v| {
            serde_json::json!({
                "infohash": v.infohash().to_string(),
                "name": v.name(),
                "length": v.body().len(),
                "prev": hex_of(v.prev()),
                "older": hex_of(v.older()),
                "body_sha256": hex::encode(sha2::Sha256::digest(v.body())),
                "torrent_sha256": hex::encode(sha2::Sha256::digest(v.torrent_bytes::<&str>(&[]))),
            })
        })
        .collect();
    assert_eq!(versions.len(), 3, "two segments");
    assert_eq!(versions[2].older(), Some(versions[1].infohash()));
    let expected = serde_json::Value::Array(expected);
    if std::env::var_os("UPSEED_TEST_BLESS").is_some() {
        doc["index_chain"]["expected"] = expected;
        let mut text = serde_json::to_string_pretty(&doc).unwrap();
        text.push('\n');
        fs::write(&path, text).unwrap();
    } else {
        assert_eq!(doc["index_chain"]["expected"], expected, "vectors/dht.json");
    }
}

/// Supersede records (PROTOCOL.md §19) in `vectors/dht.json`: an edit and
/// a delete of `1-post` by its author, each with its signed message,
/// encoded form, item salt and BEP 44 signature.
#[test]
fn supersede_vectors_match() {
    use upseed_core::item;
    use upseed_core::supersede::{self, Supersede};

    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("vectors/dht.json");
    let mut doc: serde_json::Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
    if std::env::var_os("UPSEED_TEST_BLESS").is_some() && doc.get("supersede").is_none() {
        let post = vector_dirs()
            .into_iter()
            .find(|d| d.ends_with("1-post"))
            .unwrap();
        let input: serde_json::Value =
            serde_json::from_slice(&fs::read(post.join("input.json")).unwrap()).unwrap();
        doc["supersede"] = serde_json::json!({
            "input": {
                "seed": input["seed"],
                "target": fs::read_to_string(post.join("infohash")).unwrap().trim(),
                "replacement": "5c0b8f0d3e2a1f4b6c7d8e9fa0b1c2d3e4f50617",
                "edit_seq": 1,
                "delete_seq": 2,
            }
        });
    }
    let input = &doc["supersede"]["input"];
    let mut seed = [0u8; 32];
    hex::decode_to_slice(input["seed"].as_str().unwrap(), &mut seed).unwrap();
    let key = SecretKey::from_seed(&seed);
    let hash = |v: &serde_json::Value| -> InfoHash { v.as_str().unwrap().parse().unwrap() };
    let target = hash(&input["target"]);
    let salt = supersede::item_salt(target);
    let mut expected = serde_json::Map::new();
    expected.insert(
        "public_key".into(),
        hex::encode(key.public_key().as_bytes()).into(),
    );
    expected.insert(
        "salt".into(),
        String::from_utf8(salt.clone()).unwrap().into(),
    );
    for (name, replacement, seq) in [
        (
            "edit",
            Some(hash(&input["replacement"])),
            &input["edit_seq"],
        ),
        ("delete", None, &input["delete_seq"]),
    ] {
        let seq = seq.as_u64().unwrap();
        let record = Supersede::sign(&key, target, replacement, seq).unwrap();
        let encoded = record.encode();
        assert_eq!(Supersede::decode(&encoded).unwrap(), record);
        let item_seq = i64::try_from(seq).unwrap();
        expected.insert(
            name.into(),
            serde_json::json!({
                "signed_message": hex::encode(record.signed_message()),
                "encoded": hex::encode(&encoded),
                "item_signature": hex::encode(item::sign_item(&key, &salt, item_seq, &encoded)),
            }),
        );
    }
    let expected = serde_json::Value::Object(expected);
    if std::env::var_os("UPSEED_TEST_BLESS").is_some() {
        doc["supersede"]["expected"] = expected;
        let mut text = serde_json::to_string_pretty(&doc).unwrap();
        text.push('\n');
        fs::write(&path, text).unwrap();
    } else {
        assert_eq!(
            doc["supersede"]["expected"], expected,
            "vectors/dht.json: supersede"
        );
    }
}

/// Mute lists (PROTOCOL.md §20) in `vectors/dht.json`: a short list by the
/// author of `1-post` (one entry of each kind, one with an expiry), held
/// in its item, and a long one that its item names as a torrent.
#[test]
fn mute_list_vectors_match() {
    use upseed_core::item;
    use upseed_core::mute::MuteTarget;
    use upseed_core::mute_list::{ListEntry, ListItem, MUTE_LIST_SALT, MuteList};

    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("vectors/dht.json");
    let mut doc: serde_json::Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
    if std::env::var_os("UPSEED_TEST_BLESS").is_some() && doc.get("mute_list").is_none() {
        let dir = |name: &str| {
            vector_dirs()
                .into_iter()
                .find(|d| d.ends_with(name))
                .unwrap()
        };
        let input: serde_json::Value =
            serde_json::from_slice(&fs::read(dir("1-post").join("input.json")).unwrap()).unwrap();
        let comment: serde_json::Value =
            serde_json::from_slice(&fs::read(dir("2-comment").join("input.json")).unwrap())
                .unwrap();
        let mut other = [0u8; 32];
        hex::decode_to_slice(comment["seed"].as_str().unwrap(), &mut other).unwrap();
        doc["mute_list"] = serde_json::json!({
            "input": {
                "seed": input["seed"],
                "created": 1_763_683_200u64,
                "author": hex::encode(SecretKey::from_seed(&other).public_key().as_bytes()),
                "thread": fs::read_to_string(dir("1-post").join("infohash")).unwrap().trim(),
                "community": "rust",
                "word": "spoilers",
                "word_until": 1_764_288_000u64,
                "long_words": 60,
            }
        });
    }
    let input = &doc["mute_list"]["input"];
    let mut seed = [0u8; 32];
    hex::decode_to_slice(input["seed"].as_str().unwrap(), &mut seed).unwrap();
    let key = SecretKey::from_seed(&seed);
    let created = input["created"].as_u64().unwrap();
    let text = |name: &str| input[name].as_str().unwrap().to_owned();
    let mut author = [0u8; 32];
    hex::decode_to_slice(text("author"), &mut author).unwrap();
    let entry = |target, until| ListEntry { target, until };
    let short = MuteList::sign(
        &key,
        created,
        [
            entry(
                MuteTarget::word(&text("word")).unwrap(),
                input["word_until"].as_u64(),
            ),
            entry(MuteTarget::Thread(text("thread").parse().unwrap()), None),
            entry(
                MuteTarget::Community(
                    upseed_core::Community::normalize(&text("community")).unwrap(),
                ),
                None,
            ),
            entry(
                MuteTarget::Author(upseed_core::PublicKey::from_bytes(&author).unwrap()),
                None,
            ),
        ],
    )
    .unwrap();
    let words = (0..input["long_words"].as_u64().unwrap())
        .map(|i| entry(MuteTarget::word(&format!("word{i:03}")).unwrap(), None));
    let long = MuteList::sign(&key, created, words).unwrap();
    let seq = i64::try_from(created).unwrap();
    let item_of = |list: &MuteList| {
        let value = list.item().encode();
        serde_json::json!({
            "item_value": hex::encode(&value),
            "item_signature": hex::encode(item::sign_item(&key, MUTE_LIST_SALT, seq, &value)),
        })
    };
    assert!(matches!(short.item(), ListItem::Inline(_)));
    assert!(matches!(long.item(), ListItem::Torrent { .. }));
    for list in [&short, &long] {
        assert_eq!(&MuteList::decode(list.encoded(), created).unwrap(), list);
    }
    let mut short_json = item_of(&short);
    short_json["signed_message"] = hex::encode(short.signed_message()).into();
    short_json["encoded"] = hex::encode(short.encoded()).into();
    let mut long_json = item_of(&long);
    long_json["encoded_sha256"] = hex::encode(Sha256::digest(long.encoded())).into();
    long_json["infohash"] = long.infohash().to_hex().into();
    long_json["name"] = long.file_name().into();
    long_json["torrent_sha256"] =
        hex::encode(Sha256::digest(long.torrent_bytes::<&str>(&[]))).into();
    let expected = serde_json::json!({
        "public_key": hex::encode(key.public_key().as_bytes()),
        "salt": String::from_utf8(MUTE_LIST_SALT.to_vec()).unwrap(),
        "short": short_json,
        "long": long_json,
    });
    if std::env::var_os("UPSEED_TEST_BLESS").is_some() {
        doc["mute_list"]["expected"] = expected;
        let mut text = serde_json::to_string_pretty(&doc).unwrap();
        text.push('\n');
        fs::write(&path, text).unwrap();
    } else {
        assert_eq!(
            doc["mute_list"]["expected"], expected,
            "vectors/dht.json: mute_list"
        );
    }
}
