//! Property tests for the other parsers fed from outside: the consent callback (what the
//! browser brings back) and the stored token document (what is on disk).

use pinterest_oauth_core::{CallbackError, CsrfState, TokenDocument, parse_callback};
use proptest::prelude::*;

fn encode(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn parse_callback_never_panics(callback in any::<String>(), entropy in proptest::collection::vec(any::<u8>(), 32..40)) {
        let _ = parse_callback(&callback, &CsrfState::from_entropy(&entropy).unwrap());
    }

    #[test]
    fn restoring_a_state_never_panics(value in any::<String>()) {
        if let Ok(state) = CsrfState::new(value.clone()) {
            prop_assert!(value.len() >= 32);
            prop_assert_eq!(state.secret(), value.as_str());
        }
    }

    #[test]
    fn a_genuine_callback_gives_back_its_code(
        code in "\\PC{1,64}",
        entropy in proptest::collection::vec(any::<u8>(), 32..64),
        extra in "[a-z_]{1,10}",
        prefix in prop_oneof![Just(""), Just("?"), Just("/?"), Just("http://localhost:8085/cb?")],
    ) {
        let state = CsrfState::from_entropy(&entropy).unwrap();
        let callback = format!(
            "{prefix}{extra}=1&code={}&state={}#fragment",
            encode(&code),
            encode(state.secret())
        );
        let parsed = parse_callback(&callback, &state).unwrap();
        prop_assert_eq!(parsed.secret(), code.as_str());
    }

    #[test]
    fn any_other_state_is_a_mismatch(
        code in "[a-zA-Z0-9]{1,32}",
        entropy in proptest::collection::vec(any::<u8>(), 32..48),
        forged in "[a-zA-Z0-9_-]{0,43}",
    ) {
        let state = CsrfState::from_entropy(&entropy).unwrap();
        prop_assume!(forged != state.secret());
        let callback = format!("code={code}&state={forged}");
        prop_assert_eq!(parse_callback(&callback, &state), Err(CallbackError::StateMismatch));
        // A forged refusal is no refusal: only the right state ends a login.
        let refusal = format!("error=access_denied&state={forged}");
        prop_assert_eq!(parse_callback(&refusal, &state), Err(CallbackError::StateMismatch));
    }

    #[test]
    fn token_documents_never_panic_and_errors_quote_nothing(
        bytes in prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..512),
            "\\{\"version\":[12],\"access_token\":\"pina_SECRET[a-z]{8}\"[ -~]{0,200}".prop_map(String::into_bytes),
        ],
    ) {
        if let Err(err) = TokenDocument::from_bytes(&bytes) {
            prop_assert!(!err.to_string().contains("pina_SECRET"), "{}", err);
        }
    }
}
