//! Blocking clients and token sources, over any [`Http`] stack.

mod client;
mod pool;
mod source;

pub use client::Client;
pub use pool::{
    DEFAULT_APP_BUDGET, DEFAULT_MAX_IN_MEMORY, DEFAULT_SPREAD, PoolConfig, RefreshReport, TokenPool,
};
pub use source::TokenSource;

#[cfg(doc)]
use crate::Http;
