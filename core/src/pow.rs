//! Proof of work for what strangers write to boards (PROTOCOL.md §17):
//! NIP-13's rule of leading zero bits, over a record's infohash (which
//! commits to its signed message) and a nonce. A board entry carries its
//! nonce, so a reader checks the work before fetching anything, and a
//! flood of entries without it costs the reader nothing.

use sha2::{Digest, Sha256};

use crate::InfoHash;

/// Prefix of every hashed proof.
pub const POW_DOMAIN: &[u8] = b"upseed/pow/1\0";

/// The work a board entry needs, in leading zero bits: about 2^20 hashes,
/// a fraction of a second on one core of a laptop.
pub const BOARD_DIFFICULTY: u32 = 20;

/// The leading zero bits of SHA-256(`POW_DOMAIN` ‖ `hash` ‖ `nonce` as 8
/// bytes big-endian): the work the nonce proves for the record.
pub fn work(hash: InfoHash, nonce: u64) -> u32 {
    let digest = Sha256::new()
        .chain_update(POW_DOMAIN)
        .chain_update(hash.as_bytes())
        .chain_update(nonce.to_be_bytes())
        .finalize();
    leading_zero_bits(&digest)
}

/// The leading zero bits of `bytes`, as NIP-13 counts them.
pub fn leading_zero_bits(bytes: &[u8]) -> u32 {
    let mut bits = 0;
    for byte in bytes {
        if *byte == 0 {
            bits += 8;
        } else {
            return bits + byte.leading_zeros();
        }
    }
    bits
}

/// The first nonce from 0 up whose work for `hash` reaches `difficulty`:
/// what a writer puts beside the hash. Deterministic, so any two writers
/// find the same one.
pub fn solve(hash: InfoHash, difficulty: u32) -> u64 {
    // The hash of the fixed prefix is computed once.
    let prefix = Sha256::new()
        .chain_update(POW_DOMAIN)
        .chain_update(hash.as_bytes());
    let mut nonce = 0u64;
    loop {
        let digest = prefix.clone().chain_update(nonce.to_be_bytes()).finalize();
        if leading_zero_bits(&digest) >= difficulty {
            return nonce;
        }
        nonce = nonce.wrapping_add(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leading_zero_bits_count_as_nip_13_does() {
        assert_eq!(leading_zero_bits(&[0, 0, 0x0f, 0xff]), 20);
        assert_eq!(leading_zero_bits(&[0x80]), 0);
        assert_eq!(leading_zero_bits(&[0, 1]), 15);
        assert_eq!(leading_zero_bits(&[0; 4]), 32);
    }

    #[test]
    fn a_solved_nonce_proves_its_work_and_no_other_hash_shares_it() {
        let hash = InfoHash::of_info(b"a post");
        let nonce = solve(hash, 12);
        assert!(work(hash, nonce) >= 12);
        assert!(
            (0..nonce).all(|n| work(hash, n) < 12),
            "the first nonce that reaches the difficulty"
        );
        let other = InfoHash::of_info(b"another post");
        assert!(work(other, nonce) < 12, "the work is bound to its hash");
    }
}
