//! The lead rule: an infohash named on a DHT item is only a lead, and the
//! record fetched for it is kept only if it is what the item claimed.

use crate::item;
use crate::{Community, InfoHash, PublicKey, Record};

/// What a lead must turn out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expect {
    /// A record by this author: named in their outbox.
    Author(PublicKey),
    /// A post in this community, created in this bucket: named on that
    /// community's board for the bucket.
    Community(Community, u64),
    /// A comment in this post's thread: named on its reply board.
    Root(InfoHash),
}

impl Expect {
    /// Whether `record` is what the lead claimed.
    pub fn holds(&self, record: &Record) -> bool {
        match self {
            Self::Author(key) => record.author() == *key,
            Self::Community(c, bucket) => {
                record.root().is_none()
                    && record.community() == Some(c)
                    && item::bucket_of(record.created()) == *bucket
            }
            Self::Root(post) => record.root() == Some(*post),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CommentDraft, PostDraft, SecretKey};

    #[test]
    fn a_lead_holds_only_for_what_it_claimed() {
        let alice = SecretKey::from_seed(&[1; 32]);
        let bob = SecretKey::from_seed(&[2; 32]);
        let created = 1_700_000_000;
        let post = PostDraft::new("hi")
            .unwrap()
            .community("rust")
            .unwrap()
            .sign(&alice, created)
            .unwrap();
        let reply = CommentDraft::reply_to("hello", &post)
            .unwrap()
            .sign(&bob, created + 1)
            .unwrap();
        let rust = Community::normalize("rust").unwrap();
        let go = Community::normalize("go").unwrap();
        let bucket = item::bucket_of(created);

        assert!(Expect::Author(alice.public_key()).holds(&post));
        assert!(!Expect::Author(bob.public_key()).holds(&post));
        assert!(Expect::Community(rust.clone(), bucket).holds(&post));
        assert!(!Expect::Community(go, bucket).holds(&post));
        assert!(!Expect::Community(rust.clone(), bucket + 1).holds(&post));
        assert!(
            !Expect::Community(rust, bucket).holds(&reply),
            "a comment is not a community's post"
        );
        assert!(Expect::Root(post.infohash()).holds(&reply));
        assert!(!Expect::Root(reply.infohash()).holds(&post));
    }
}
