//! The token-response parser: any status, headers and body (raw HTTP/1.1 text). Never panics; a token it accepts
//! has a usable bearer access token or says why not, expires after it was received, and
//! survives the token file unchanged.
#![no_main]

mod common;

use std::time::{Duration, SystemTime};

use libfuzzer_sys::fuzz_target;
use pinterest_oauth_core::{TokenDocument, TokenType, parse_token_response};

fuzz_target!(|data: &[u8]| {
    let Some(response) = common::response(data) else {
        return;
    };
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    match parse_token_response(now, &response) {
        Ok(token) => {
            assert!(response.status().is_success());
            assert_eq!(token.received_at(), now);
            assert!(token.expires_at() >= now);
            match (token.access_token(), token.access_token_problem()) {
                (Some(access), None) => {
                    assert_eq!(token.token_type(), &TokenType::Bearer);
                    assert!(!access.secret().is_empty());
                    assert!(access.secret().bytes().all(|b| b.is_ascii_graphic()));
                }
                (None, Some(_)) => {}
                other => panic!("an access token and a problem: {other:?}"),
            }
            let _ = format!("{token:?}");
            let bytes = TokenDocument::new(token.clone()).to_bytes();
            let stored = TokenDocument::from_bytes(&bytes).expect("a stored token reads back");
            assert_eq!(stored.token().refresh_token(), token.refresh_token());
            assert_eq!(stored.token().access_token(), token.access_token());
            assert_eq!(
                &*stored.to_bytes(),
                &*bytes,
                "the token file is a fixed point"
            );
        }
        Err(error) => {
            let _ = (error.to_string(), format!("{error:?}"));
            let _ = pinterest_oauth_core::Failure::of(&error);
        }
    }
});
