//! Any body of a 2xx that carries a well-formed `"refresh_token":"…"` member: that refresh
//! token is what the parse took, or the answer is to be kept aside as it came. Never panics.
#![no_main]

use std::time::{Duration, SystemTime};

use libfuzzer_sys::fuzz_target;
use pinterest_oauth_core::{http, must_keep_raw_answer, parse_token_response, refresh_tokens_in};

fuzz_target!(|data: &[u8]| {
    // The first byte picks where a well-formed member goes into the rest.
    let Some((&at, rest)) = data.split_first() else {
        return;
    };
    let token = "pinr_fuzzed-refresh-token";
    let member = format!(r#""refresh_token":"{token}""#);
    let cut = usize::from(at).min(rest.len());
    let mut body = rest[..cut].to_vec();
    body.extend_from_slice(member.as_bytes());
    body.extend_from_slice(&rest[cut..]);
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    for status in [200, 201] {
        let response = http::Response::builder()
            .status(status)
            .body(body.clone())
            .expect("a valid status");
        let parsed = parse_token_response(now, &response);
        let taken = parsed
            .as_ref()
            .ok()
            .and_then(|t| t.refresh_token())
            .map(|t| t.secret().to_owned());
        let kept = must_keep_raw_answer(&body, parsed.as_ref().ok());
        assert!(
            refresh_tokens_in(&body).iter().any(|t| t.as_str() == token),
            "the scan finds the member"
        );
        assert!(
            taken.as_deref() == Some(token) || kept,
            "the refresh token is neither taken nor kept"
        );
    }
});
