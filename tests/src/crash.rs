//! The two token sets the crash-safety test's writer alternates between.

use pinterest_oauth_core::{Token, http, parse_token_response};
use std::time::{Duration, SystemTime};

fn set(access: &str, refresh: &str, at: u64) -> Token {
    let body = format!(
        r#"{{"access_token":"{access}","token_type":"bearer","expires_in":2592000,
            "scope":"boards:read,pins:read","refresh_token":"{refresh}",
            "refresh_token_expires_in":5184000,"response_type":"refresh_token"}}"#
    );
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(at);
    parse_token_response(now, &http::Response::new(body)).expect("a valid token body")
}

/// The "old" set.
pub fn set_a() -> Token {
    set(
        &format!("pina_{}", "A".repeat(200)),
        &format!("pinr_{}", "a".repeat(200)),
        1_800_000_000,
    )
}

/// The "new" set.
pub fn set_b() -> Token {
    set(
        &format!("pina_{}", "B".repeat(200)),
        &format!("pinr_{}", "b".repeat(200)),
        1_800_000_100,
    )
}
