//! The BitTorrent peer wire as far as a seeding probe needs it (BEP 3 with
//! BEP 10's extension bit): a probe asks a peer that claims to seed a
//! record for one of its pieces and checks the piece against the hash the
//! author signed (PROTOCOL.md §21).
//!
//! Every upseed piece is 16 KiB at most, one block, so one request proves
//! the peer holds the piece. A bitfield alone proves nothing: a client in
//! "seed mode" claims pieces it has never read.
//!
//! This module is the protocol as a state machine over bytes: [`Probe`]
//! says what to send and judges what arrives. Sockets and clocks are the
//! caller's.

use sha1::{Digest, Sha1};

use crate::InfoHash;

/// The protocol string of the handshake.
pub const PROTOCOL: &[u8; 19] = b"BitTorrent protocol";

/// A handshake's length: 1 + 19 + 8 reserved + 20 infohash + 20 peer id.
pub const HANDSHAKE_LEN: usize = 68;

/// The most a block request asks for, as every client expects (BEP 3).
pub const BLOCK: u32 = 16 * 1024;

/// The longest message a probe reads: a piece message of one block, or an
/// extension handshake, with room to spare. A longer length prefix is a
/// peer talking nonsense, refused before anything is read.
pub const MAX_MESSAGE: usize = 64 * 1024;

/// The most messages a probe reads before it gives up on a peer that
/// talks without answering.
pub const MAX_MESSAGES: usize = 256;

/// How a peer let a probe down: what [`Verdict::Failed`] carries.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// The handshake is not BitTorrent's.
    #[error("the peer did not answer with a BitTorrent handshake")]
    NotBitTorrent,
    /// The handshake names another torrent.
    #[error("the peer answered for torrent {found}, not {expected}")]
    OtherTorrent {
        /// What we asked for.
        expected: InfoHash,
        /// What it answered for.
        found: InfoHash,
    },
    /// A length prefix over [`MAX_MESSAGE`].
    #[error("the peer sent a message of {0} bytes, over the {MAX_MESSAGE} a probe reads")]
    TooLong(usize),
    /// A message shorter than its id needs.
    #[error("the peer sent a malformed message (id {id}, {len} bytes)")]
    Malformed {
        /// The message id.
        id: u8,
        /// Its length, id included.
        len: usize,
    },
    /// A piece message that is not the block asked for.
    #[error("the peer sent piece {index} at {begin} ({len} bytes), not the block asked for")]
    UnaskedBlock {
        /// Its piece.
        index: u32,
        /// Its offset.
        begin: u32,
        /// Its length.
        len: usize,
    },
    /// The block asked for, with the wrong bytes.
    #[error("the peer sent piece {0} with bytes that do not match its signed hash")]
    WrongBlock(u32),
    /// More than [`MAX_MESSAGES`] without the block.
    #[error("the peer sent {MAX_MESSAGES} messages without the block asked for")]
    Chatter,
}

/// What a probe concluded of one peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// It served the piece, and the piece matches the signed hash.
    Verified,
    /// It says it does not hold the piece (its bitfield, `have none`, or a
    /// rejected request): a reader, not a seeder.
    NotSeeding,
    /// It broke the protocol or sent wrong bytes.
    Failed(WireError),
}

/// What one probe of one peer found, as kept and shown: the verdict, or
/// why there was none.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    serde::Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// It served a piece that matches the signed hash: a verified seeder.
    Verified,
    /// It holds no copy: a reader.
    NotSeeding,
    /// No connection, or no handshake, in time: unverified, not fake (a
    /// peer behind a NAT cannot be dialled).
    Unreachable,
    /// It answered, but did not serve the piece in time: unverified (a
    /// busy seeder serves only a few peers at once).
    Choked,
    /// It broke the protocol or sent wrong bytes.
    Failed,
}

impl Outcome {
    /// Every outcome.
    pub const ALL: [Self; 5] = [
        Self::Verified,
        Self::NotSeeding,
        Self::Unreachable,
        Self::Choked,
        Self::Failed,
    ];

    /// Its name, as the store and JSON spell it.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Verified => "verified",
            Self::NotSeeding => "not_seeding",
            Self::Unreachable => "unreachable",
            Self::Choked => "choked",
            Self::Failed => "failed",
        }
    }

    /// The outcome named `name`.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.as_str() == name)
    }
}

impl From<&Verdict> for Outcome {
    fn from(verdict: &Verdict) -> Self {
        match verdict {
            Verdict::Verified => Self::Verified,
            Verdict::NotSeeding => Self::NotSeeding,
            Verdict::Failed(_) => Self::Failed,
        }
    }
}

/// What the probe wants next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Send these bytes, then read on.
    Send(Vec<u8>),
    /// Read on.
    Read,
    /// The probe is over.
    Done(Verdict),
}

/// One probe of one peer for one piece of one torrent.
#[derive(Debug, Clone)]
pub struct Probe {
    infohash: InfoHash,
    piece: u32,
    length: u32,
    hash: [u8; 20],
    requested: bool,
    messages: usize,
}

impl Probe {
    /// A probe for piece `piece` of `infohash`, `length` bytes long (at
    /// most [`BLOCK`]) with SHA-1 `hash`, and the handshake to send first.
    ///
    /// `peer_id` is the probe's 20-byte peer id.
    pub fn new(
        infohash: InfoHash,
        (piece, length, hash): (u32, u32, [u8; 20]),
        peer_id: [u8; 20],
    ) -> (Self, [u8; HANDSHAKE_LEN]) {
        let probe = Self {
            infohash,
            piece,
            length: length.min(BLOCK),
            hash,
            requested: false,
            messages: 0,
        };
        (probe, handshake(infohash, peer_id))
    }

    /// The peer's handshake arrived: checks it, and gives what to send
    /// next, `interested` (with an extension handshake when the peer
    /// speaks BEP 10, as clients expect one before anything else).
    pub fn on_handshake(&mut self, bytes: &[u8; HANDSHAKE_LEN]) -> Result<Vec<u8>, WireError> {
        let peer = parse_handshake(bytes)?;
        if peer.infohash != self.infohash {
            return Err(WireError::OtherTorrent {
                expected: self.infohash,
                found: peer.infohash,
            });
        }
        let mut out = Vec::with_capacity(64);
        if peer.extensions {
            out.extend_from_slice(&extension_handshake());
        }
        out.extend_from_slice(&frame(INTERESTED, &[]));
        Ok(out)
    }

    /// Reads one message's length prefix: the bytes to read next.
    pub fn frame_len(prefix: [u8; 4]) -> Result<usize, WireError> {
        let len = u32::from_be_bytes(prefix) as usize;
        if len > MAX_MESSAGE {
            Err(WireError::TooLong(len))
        } else {
            Ok(len)
        }
    }

    /// One message arrived (its bytes after the length prefix).
    pub fn on_message(&mut self, message: &[u8]) -> Step {
        self.messages += 1;
        if self.messages > MAX_MESSAGES {
            return Step::Done(Verdict::Failed(WireError::Chatter));
        }
        let Some((&id, payload)) = message.split_first() else {
            return Step::Read; // keep-alive
        };
        let malformed = || {
            Step::Done(Verdict::Failed(WireError::Malformed {
                id,
                len: message.len(),
            }))
        };
        match id {
            UNCHOKE if !self.requested => {
                self.requested = true;
                Step::Send(self.request())
            }
            HAVE_NONE => Step::Done(Verdict::NotSeeding),
            BITFIELD => {
                let byte = (self.piece / 8) as usize;
                match payload.get(byte) {
                    Some(bits) if bits & (0x80 >> (self.piece % 8)) != 0 => Step::Read,
                    Some(_) => Step::Done(Verdict::NotSeeding),
                    None => malformed(),
                }
            }
            REJECT if payload.len() == 12 => {
                if be_u32(payload, 0) == self.piece {
                    Step::Done(Verdict::NotSeeding)
                } else {
                    Step::Read
                }
            }
            PIECE if payload.len() >= 8 => {
                let (index, begin) = (be_u32(payload, 0), be_u32(payload, 4));
                let block = &payload[8..];
                if !self.requested
                    || index != self.piece
                    || begin != 0
                    || block.len() != self.length as usize
                {
                    return Step::Done(Verdict::Failed(WireError::UnaskedBlock {
                        index,
                        begin,
                        len: block.len(),
                    }));
                }
                if <[u8; 20]>::from(Sha1::digest(block)) == self.hash {
                    Step::Done(Verdict::Verified)
                } else {
                    Step::Done(Verdict::Failed(WireError::WrongBlock(index)))
                }
            }
            HAVE | REJECT | PIECE if payload.len() < message_len(id) => malformed(),
            _ => Step::Read,
        }
    }

    fn request(&self) -> Vec<u8> {
        let mut payload = [0; 12];
        payload[..4].copy_from_slice(&self.piece.to_be_bytes());
        payload[8..].copy_from_slice(&self.length.to_be_bytes());
        frame(REQUEST, &payload)
    }
}

const UNCHOKE: u8 = 1;
const INTERESTED: u8 = 2;
const HAVE: u8 = 4;
const BITFIELD: u8 = 5;
const REQUEST: u8 = 6;
const PIECE: u8 = 7;
const HAVE_NONE: u8 = 15;
const REJECT: u8 = 16;
const EXTENDED: u8 = 20;

/// The least payload a fixed-size message needs.
fn message_len(id: u8) -> usize {
    match id {
        HAVE => 4,
        PIECE => 8,
        _ => 12,
    }
}

fn be_u32(bytes: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

fn frame(id: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(5 + payload.len());
    out.extend_from_slice(&(1 + payload.len() as u32).to_be_bytes());
    out.push(id);
    out.extend_from_slice(payload);
    out
}

/// A handshake for `infohash`, with BEP 10's extension bit set and the
/// fast extension's bit clear.
pub fn handshake(infohash: InfoHash, peer_id: [u8; 20]) -> [u8; HANDSHAKE_LEN] {
    let mut out = [0; HANDSHAKE_LEN];
    out[0] = 19;
    out[1..20].copy_from_slice(PROTOCOL);
    out[25] = 0x10;
    out[28..48].copy_from_slice(infohash.as_bytes());
    out[48..].copy_from_slice(&peer_id);
    out
}

/// What a peer's handshake says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerHandshake {
    /// The torrent it answers for.
    pub infohash: InfoHash,
    /// Its peer id.
    pub peer_id: [u8; 20],
    /// Whether it speaks BEP 10.
    pub extensions: bool,
}

/// Reads a handshake.
pub fn parse_handshake(bytes: &[u8; HANDSHAKE_LEN]) -> Result<PeerHandshake, WireError> {
    if bytes[0] != 19 || &bytes[1..20] != PROTOCOL {
        return Err(WireError::NotBitTorrent);
    }
    let mut hash = [0; 20];
    hash.copy_from_slice(&bytes[28..48]);
    let mut peer_id = [0; 20];
    peer_id.copy_from_slice(&bytes[48..]);
    Ok(PeerHandshake {
        infohash: InfoHash::from_bytes(hash),
        peer_id,
        extensions: bytes[25] & 0x10 != 0,
    })
}

/// The probe's extension handshake (BEP 10): no extensions, and its name.
fn extension_handshake() -> Vec<u8> {
    let mut payload = vec![0];
    payload.extend_from_slice(b"d1:mde1:v6:upseede");
    frame(EXTENDED, &payload)
}

/// A peer id for probes: `-US0100-` and 12 bytes of `random`.
pub fn peer_id(random: [u8; 12]) -> [u8; 20] {
    let mut id = [0; 20];
    id[..8].copy_from_slice(b"-US0100-");
    id[8..].copy_from_slice(&random);
    id
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &[u8] = b"a post that proves itself";

    fn probe() -> Probe {
        let hash = Sha1::digest(BODY).into();
        let (probe, hello) = Probe::new(
            InfoHash::from_bytes([7; 20]),
            (0, BODY.len() as u32, hash),
            peer_id([1; 12]),
        );
        assert_eq!(&hello[1..20], PROTOCOL);
        assert_eq!(hello[25], 0x10, "the extension bit, and not the fast bit");
        probe
    }

    fn answer(infohash: [u8; 20], extensions: bool) -> [u8; HANDSHAKE_LEN] {
        let mut hello = handshake(InfoHash::from_bytes(infohash), peer_id([2; 12]));
        if !extensions {
            hello[25] = 0;
        }
        hello
    }

    fn piece(index: u32, begin: u32, block: &[u8]) -> Vec<u8> {
        let mut m = vec![PIECE];
        m.extend_from_slice(&index.to_be_bytes());
        m.extend_from_slice(&begin.to_be_bytes());
        m.extend_from_slice(block);
        m
    }

    #[test]
    fn an_honest_seeder_is_verified() {
        let mut p = probe();
        let next = p.on_handshake(&answer([7; 20], true)).unwrap();
        // The extension handshake, then `interested`.
        assert_eq!(next[4], EXTENDED);
        assert_eq!(&next[next.len() - 5..], &[0, 0, 0, 1, INTERESTED]);
        assert_eq!(p.on_message(&[BITFIELD, 0x80]), Step::Read);
        assert_eq!(p.on_message(&[]), Step::Read, "keep-alive");
        let Step::Send(request) = p.on_message(&[UNCHOKE]) else {
            panic!("an unchoke asks for the block");
        };
        assert_eq!(request[..5], [0, 0, 0, 13, REQUEST]);
        assert_eq!(request[13..], (BODY.len() as u32).to_be_bytes());
        assert_eq!(p.on_message(&[UNCHOKE]), Step::Read, "asked once");
        assert_eq!(
            p.on_message(&piece(0, 0, BODY)),
            Step::Done(Verdict::Verified)
        );
    }

    #[test]
    fn a_peer_without_extensions_gets_only_interested() {
        let mut p = probe();
        let next = p.on_handshake(&answer([7; 20], false)).unwrap();
        assert_eq!(next, [0, 0, 0, 1, INTERESTED]);
    }

    #[test]
    fn lies_and_junk_fail() {
        assert_eq!(
            probe().on_handshake(&[b'x'; HANDSHAKE_LEN]),
            Err(WireError::NotBitTorrent)
        );
        assert!(matches!(
            probe().on_handshake(&answer([8; 20], true)),
            Err(WireError::OtherTorrent { .. })
        ));
        let mut p = probe();
        p.on_message(&[UNCHOKE]);
        assert_eq!(
            p.on_message(&piece(0, 0, b"a post that proves itselF")),
            Step::Done(Verdict::Failed(WireError::WrongBlock(0)))
        );
        let mut p = probe();
        p.on_message(&[UNCHOKE]);
        assert!(matches!(
            p.on_message(&piece(0, 0, b"short")),
            Step::Done(Verdict::Failed(WireError::UnaskedBlock { len: 5, .. }))
        ));
        // A block nobody asked for yet.
        assert!(matches!(
            probe().on_message(&piece(0, 0, BODY)),
            Step::Done(Verdict::Failed(WireError::UnaskedBlock { .. }))
        ));
        assert!(matches!(
            probe().on_message(&[HAVE, 1]),
            Step::Done(Verdict::Failed(WireError::Malformed { id: HAVE, len: 2 }))
        ));
        assert!(matches!(
            probe().on_message(&[BITFIELD]),
            Step::Done(Verdict::Failed(WireError::Malformed { .. }))
        ));
        assert_eq!(
            Probe::frame_len(u32::MAX.to_be_bytes()),
            Err(WireError::TooLong(u32::MAX as usize))
        );
        assert_eq!(Probe::frame_len(13u32.to_be_bytes()), Ok(13));
    }

    #[test]
    fn readers_are_not_seeders() {
        assert_eq!(
            probe().on_message(&[BITFIELD, 0x00]),
            Step::Done(Verdict::NotSeeding)
        );
        assert_eq!(
            probe().on_message(&[HAVE_NONE]),
            Step::Done(Verdict::NotSeeding)
        );
        let mut reject = vec![REJECT];
        reject.extend_from_slice(&[0; 12]);
        assert_eq!(probe().on_message(&reject), Step::Done(Verdict::NotSeeding));
    }

    #[test]
    fn a_peer_that_only_chatters_is_dropped() {
        let mut p = probe();
        for _ in 0..MAX_MESSAGES {
            assert_eq!(p.on_message(&[HAVE, 0, 0, 0, 0]), Step::Read);
        }
        assert_eq!(
            p.on_message(&[HAVE, 0, 0, 0, 0]),
            Step::Done(Verdict::Failed(WireError::Chatter))
        );
    }
}
