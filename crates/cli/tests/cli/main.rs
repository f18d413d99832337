//! The built `pinterest-oauth` binary against the fake Pinterest, the test acting as the
//! browser. One test binary (one link, one fake crate build), one module per subject.

mod answers;
mod file_safety;
mod grants;
mod login;
mod output;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "redis")]
mod redis;
mod support;
mod workflow;
