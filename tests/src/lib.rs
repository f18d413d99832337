//! Shared helpers for the workspace integration tests.
//!
//! [`spec`] loads Pinterest's OpenAPI description from `PINTEREST_OPENAPI` (default
//! `../shared/pinterest-openapi/openapi.json` beside the workspace) and reads schemas out of it,
//! so tests check the project against the spec rather than against memory.

pub mod crash;
pub mod redis;
pub mod spec;
pub mod tokens;
pub mod transports;
