//! The token-file loader: any bytes. Never panics, and whatever it accepts is written back
//! as a file that reads the same.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pinterest_oauth_core::TokenDocument;

fuzz_target!(|bytes: &[u8]| {
    match TokenDocument::from_bytes(bytes) {
        Ok(document) => {
            let written = document.to_bytes();
            let again = TokenDocument::from_bytes(&written).expect("a written file reads back");
            assert_eq!(
                again.token().refresh_token(),
                document.token().refresh_token()
            );
            assert_eq!(
                again.token().access_token(),
                document.token().access_token()
            );
            assert_eq!(again.revision(), document.revision());
            assert_eq!(
                &*again.to_bytes(),
                &*written,
                "the token file is a fixed point"
            );
        }
        Err(error) => {
            let _ = (error.to_string(), format!("{error:?}"));
        }
    }
});
