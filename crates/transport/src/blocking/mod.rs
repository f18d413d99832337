//! Blocking clients and token sources, over any [`Http`] stack.

mod client;
mod pool;
mod source;

pub use client::Client;
pub use pool::TokenPool;
pub use source::TokenSource;

#[cfg(doc)]
use crate::Http;
