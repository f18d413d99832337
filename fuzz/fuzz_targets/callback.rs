//! The consent-callback parser: any request target or pasted URL (first byte `1`: the right
//! `state` is appended). Never panics, gives a code
//! only with the right `state`, and never quotes the `state` in an error.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pinterest_oauth_core::{CsrfState, parse_callback};

fuzz_target!(|data: &[u8]| {
    // The first byte says whether the expected state is appended (`1`); the rest is the text.
    let Some((flag, rest)) = data.split_first() else {
        return;
    };
    let with_state = flag & 1 == 1;
    let callback = String::from_utf8_lossy(rest);
    let expected = CsrfState::from_entropy(&[7; 32]).expect("32 bytes are enough");
    // Half the time the input carries the expected state, so the code paths past it run.
    let text = if with_state {
        format!("{callback}&state={}", expected.secret())
    } else {
        callback.into_owned()
    };
    match parse_callback(&text, &expected) {
        Ok(code) => {
            assert!(!code.secret().is_empty());
            assert!(text.contains(expected.secret()));
        }
        Err(error) => {
            let message = format!("{error} {error:?}");
            assert!(!message.contains(expected.secret()), "{message}");
            let _ = error.state_matched();
        }
    }
});
