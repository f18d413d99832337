//! The doc examples on what `pinterest-oauth-ureq` and `pinterest-oauth-hyper` re-export from
//! the core, the store and the transport layer, as a reader of those crates' docs sees them,
//! compiled (and run, unless `no_run`) here, where the only dependencies are the stack crates
//! (and tokio): an app that copies one needs nothing else.
//!
//! `EXAMPLES.md` is generated from the sources by `tests/in_step.rs`, which fails when it is
//! out of date (`PINTEREST_OAUTH_BLESS=1 cargo test -p doc-examples` writes it) and when an
//! example on a re-exported item is written with another crate's paths.

#![forbid(unsafe_code)]
#![doc = include_str!("../EXAMPLES.md")]
