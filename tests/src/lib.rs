//! Shared pieces of upseed's integration tests. The golden vectors live in
//! `tests/vectors/` and are checked by `tests/tests/vectors.rs`; the
//! real-daemon harness joins this crate with the client adapters.
