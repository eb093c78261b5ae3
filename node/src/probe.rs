//! One seeding probe over TCP: dial a peer, shake hands, ask for one
//! piece and check it against the author's signed hash (PROTOCOL.md §21).
//! The protocol is core's [`Probe`]; this file holds the socket and the
//! clock. A probe costs at most one connection, [`MAX_MESSAGE`] bytes per
//! message read, and `timeout` in all.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use upseed_core::InfoHash;
use upseed_core::peer_wire::{HANDSHAKE_LEN, MAX_MESSAGE, Outcome, Probe, Step, Verdict};

/// What a probe found, and why when it was not verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probed {
    /// The outcome.
    pub outcome: Outcome,
    /// Why, in words, when not verified.
    pub detail: Option<String>,
}

impl Probed {
    fn new(outcome: Outcome, detail: impl Into<String>) -> Self {
        Self {
            outcome,
            detail: Some(detail.into()),
        }
    }
}

/// How far a probe got before it ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Connecting,
    Handshaking,
    Asking,
}

/// Probes `peer` for piece `piece` (its index, length and signed SHA-1)
/// of `infohash`, within `timeout` in all.
pub async fn probe(
    peer: SocketAddr,
    infohash: InfoHash,
    piece: (u32, u32, [u8; 20]),
    peer_id: [u8; 20],
    timeout: Duration,
) -> Probed {
    let mut stage = Stage::Connecting;
    let run = talk(peer, infohash, piece, peer_id, &mut stage);
    match tokio::time::timeout(timeout, run).await {
        Ok(probed) => probed,
        Err(_) => match stage {
            Stage::Connecting => Probed::new(
                Outcome::Unreachable,
                format!("no connection within {timeout:?}"),
            ),
            Stage::Handshaking => Probed::new(
                Outcome::Unreachable,
                format!("no handshake within {timeout:?}"),
            ),
            Stage::Asking => Probed::new(
                Outcome::Choked,
                format!("did not serve the piece within {timeout:?}"),
            ),
        },
    }
}

async fn talk(
    peer: SocketAddr,
    infohash: InfoHash,
    piece: (u32, u32, [u8; 20]),
    peer_id: [u8; 20],
    stage: &mut Stage,
) -> Probed {
    let mut stream = match TcpStream::connect(peer).await {
        Ok(stream) => stream,
        Err(e) => return Probed::new(Outcome::Unreachable, format!("cannot connect: {e}")),
    };
    *stage = Stage::Handshaking;
    let (mut probe, hello) = Probe::new(infohash, piece, peer_id);
    let mut theirs = [0; HANDSHAKE_LEN];
    if let Err(e) = stream.write_all(&hello).await {
        return Probed::new(Outcome::Unreachable, format!("cannot send: {e}"));
    }
    if let Err(e) = stream.read_exact(&mut theirs).await {
        return Probed::new(
            Outcome::Unreachable,
            format!("closed before its handshake: {e}"),
        );
    }
    let next = match probe.on_handshake(&theirs) {
        Ok(next) => next,
        Err(e) => return failed(&e),
    };
    *stage = Stage::Asking;
    if let Err(e) = stream.write_all(&next).await {
        return Probed::new(Outcome::Choked, format!("closed after its handshake: {e}"));
    }
    let mut message = Vec::with_capacity(1024);
    loop {
        let mut prefix = [0; 4];
        if let Err(e) = stream.read_exact(&mut prefix).await {
            return Probed::new(
                Outcome::Choked,
                format!("closed without serving the piece: {e}"),
            );
        }
        let len = match Probe::frame_len(prefix) {
            Ok(len) => len,
            Err(e) => return failed(&e),
        };
        debug_assert!(len <= MAX_MESSAGE);
        message.resize(len, 0);
        if let Err(e) = stream.read_exact(&mut message).await {
            return Probed::new(Outcome::Choked, format!("closed mid-message: {e}"));
        }
        match probe.on_message(&message) {
            Step::Read => {}
            Step::Send(bytes) => {
                if let Err(e) = stream.write_all(&bytes).await {
                    return Probed::new(Outcome::Choked, format!("closed before the request: {e}"));
                }
            }
            Step::Done(Verdict::Verified) => {
                return Probed {
                    outcome: Outcome::Verified,
                    detail: None,
                };
            }
            Step::Done(Verdict::NotSeeding) => {
                return Probed::new(Outcome::NotSeeding, "it does not hold the piece");
            }
            Step::Done(Verdict::Failed(e)) => return failed(&e),
        }
    }
}

fn failed(error: &upseed_core::peer_wire::WireError) -> Probed {
    Probed::new(Outcome::Failed, error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha1::{Digest, Sha1};
    use tokio::net::TcpListener;
    use upseed_core::peer_wire::{handshake, peer_id};

    const BODY: &[u8] = b"a post worth keeping";
    const HASH: InfoHash = InfoHash::from_bytes([9; 20]);

    /// How a fake peer behaves once a probe connects.
    #[derive(Clone, Copy)]
    enum Peer {
        Honest,
        Garbage,
        Silent,
        WrongBlock,
        NeverUnchokes,
        HugeMessage,
        Leecher,
    }

    async fn serve(behaviour: Peer) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut hello = [0; HANDSHAKE_LEN];
            s.read_exact(&mut hello).await.unwrap();
            match behaviour {
                Peer::Garbage => {
                    let _ = s.write_all(&[b'z'; 200]).await;
                    return;
                }
                Peer::Silent => {
                    tokio::time::sleep(Duration::from_secs(30)).await;
                    return;
                }
                _ => {}
            }
            s.write_all(&handshake(HASH, peer_id([5; 12])))
                .await
                .unwrap();
            let bitfield: &[u8] = match behaviour {
                Peer::Leecher => &[0, 0, 0, 2, 5, 0x00],
                _ => &[0, 0, 0, 2, 5, 0x80],
            };
            s.write_all(bitfield).await.unwrap();
            if let Peer::HugeMessage = behaviour {
                let _ = s.write_all(&[0x7f, 0xff, 0xff, 0xff, 7]).await;
            }
            // Read the probe's messages; answer `interested` and `request`.
            loop {
                let mut prefix = [0; 4];
                if s.read_exact(&mut prefix).await.is_err() {
                    return;
                }
                let mut m = vec![0; u32::from_be_bytes(prefix) as usize];
                if s.read_exact(&mut m).await.is_err() {
                    return;
                }
                match (m.first(), behaviour) {
                    (Some(2), Peer::NeverUnchokes) => {}
                    (Some(2), _) => s.write_all(&[0, 0, 0, 1, 1]).await.unwrap(),
                    (Some(6), _) => {
                        let block = match behaviour {
                            Peer::WrongBlock => b"a post worth keepinG".as_slice(),
                            _ => BODY,
                        };
                        let mut piece = (9 + block.len() as u32).to_be_bytes().to_vec();
                        piece.push(7);
                        piece.extend_from_slice(&m[1..9]);
                        piece.extend_from_slice(block);
                        s.write_all(&piece).await.unwrap();
                    }
                    _ => {}
                }
            }
        });
        addr
    }

    async fn run(behaviour: Peer) -> Probed {
        let peer = serve(behaviour).await;
        let piece = (0, BODY.len() as u32, Sha1::digest(BODY).into());
        probe(
            peer,
            HASH,
            piece,
            peer_id([1; 12]),
            Duration::from_millis(500),
        )
        .await
    }

    #[tokio::test]
    async fn each_peer_gets_the_outcome_it_earned() {
        assert_eq!(run(Peer::Honest).await.outcome, Outcome::Verified);
        let garbage = run(Peer::Garbage).await;
        assert_eq!(garbage.outcome, Outcome::Failed);
        assert!(garbage.detail.unwrap().contains("BitTorrent handshake"));
        let silent = run(Peer::Silent).await;
        assert_eq!(silent.outcome, Outcome::Unreachable);
        assert!(silent.detail.unwrap().contains("no handshake"));
        let wrong = run(Peer::WrongBlock).await;
        assert_eq!(wrong.outcome, Outcome::Failed);
        assert!(wrong.detail.unwrap().contains("do not match"));
        let choked = run(Peer::NeverUnchokes).await;
        assert_eq!(choked.outcome, Outcome::Choked);
        let huge = run(Peer::HugeMessage).await;
        assert_eq!(huge.outcome, Outcome::Failed);
        assert!(huge.detail.unwrap().contains("bytes, over"));
        assert_eq!(run(Peer::Leecher).await.outcome, Outcome::NotSeeding);
    }

    #[tokio::test]
    async fn a_closed_port_is_unreachable_not_fake() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let probed = probe(addr, HASH, (0, 1, [0; 20]), [0; 20], Duration::from_secs(2)).await;
        assert_eq!(probed.outcome, Outcome::Unreachable);
        assert!(probed.detail.unwrap().contains("cannot connect"));
    }
}
