//! The revoke parser and the error-body parser behind both endpoints: any status, headers and
//! body (raw HTTP/1.1 text). Never panics, a 2xx revoke succeeds unless it carries an error
//! object, and every failure is classified.
#![no_main]

mod common;

use std::time::SystemTime;

use libfuzzer_sys::fuzz_target;
use pinterest_oauth_core::{Failure, parse_revoke_response, parse_token_response};

fuzz_target!(|data: &[u8]| {
    let Some(response) = common::response(data) else {
        return;
    };
    match parse_revoke_response(&response) {
        Ok(()) => assert!(response.status().is_success()),
        Err(error) => {
            // A 2xx is an error only when it carries an error object.
            if response.status().is_success() {
                assert!(
                    matches!(error, pinterest_oauth_core::ResponseError::Api(_)),
                    "{error:?}"
                );
            }
            let _ = (error.to_string(), format!("{error:?}"), error.retry_after());
            let _ = Failure::of(&error);
        }
    }
    if !response.status().is_success() {
        let error = parse_token_response(SystemTime::UNIX_EPOCH, &response)
            .expect_err("an error status is never a token");
        let _ = (error.to_string(), Failure::of(&error));
    }
});
