//! Shared helpers for the workspace integration tests.
//!
//! [`spec`] loads Pinterest's OpenAPI description (the copy vendored in
//! `tests/data/pinterest-openapi/`, or `PINTEREST_OPENAPI`) and reads schemas out of it,
//! so tests check the project against the spec rather than against memory.

pub mod child;
pub mod crash;
pub mod postgres;
pub mod redis;
pub mod spec;
pub mod tokens;
pub mod transports;

/// Says, where a person running the tests sees it, that the current test checked nothing:
/// written straight to the process's stderr, which the test harness does not capture (an
/// `eprintln!` of a passing test is swallowed, and the skip would look like a pass).
pub fn skipped(why: &str) {
    use std::io::Write as _;
    let test = std::thread::current().name().unwrap_or("a test").to_owned();
    let _ = writeln!(std::io::stderr().lock(), "SKIPPED {test}: {why}");
}
