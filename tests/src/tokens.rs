//! Token helpers for lifecycle tests: a virtual clock, and tokens from the fake.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use fake_pinterest::FakePinterest;
use pinterest_oauth_core::{AuthorizationCode, RedirectUri, Token, TokenDocument};
use serde_json::Value;

use crate::transports::{config_for, settings_for};

/// A clock the test moves by hand; clones share the time.
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<Mutex<SystemTime>>);

impl ManualClock {
    /// Starts at the real time now.
    pub fn starting_now() -> ManualClock {
        ManualClock(Arc::new(Mutex::new(SystemTime::now())))
    }

    /// The current virtual time.
    pub fn now(&self) -> SystemTime {
        *self.0.lock().unwrap()
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        *self.0.lock().unwrap() += by;
    }

    /// Sets the clock.
    pub fn set(&self, to: SystemTime) {
        *self.0.lock().unwrap() = to;
    }

    /// A closure reading this clock, for token source builders.
    pub fn reader(&self) -> impl Fn() -> SystemTime + Send + Sync + 'static {
        let clock = self.clone();
        move || clock.now()
    }
}

/// A user token set from the fake, through the real consent-less code exchange (ureq).
pub fn user_token(fake: &FakePinterest) -> Token {
    let redirect = RedirectUri::new("http://localhost:8085/").unwrap();
    let code = fake.issue_code(redirect.as_str(), &["boards:read", "pins:read"]);
    let client =
        pinterest_oauth_ureq::Client::with_http_config(config_for(fake), &settings_for(fake))
            .unwrap();
    client
        .exchange_code(AuthorizationCode::new(code), &redirect)
        .unwrap()
}

/// The same set, with its access token expired at `at` (as read back from storage).
pub fn expired_at(token: &Token, at: SystemTime) -> TokenDocument {
    let mut doc: Value =
        serde_json::from_slice(&TokenDocument::new(token.clone()).to_bytes()).unwrap();
    let unix = at.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs();
    doc["expires_at"] = unix.into();
    doc["received_at"] = (unix - doc["expires_in"].as_u64().unwrap()).into();
    TokenDocument::from_bytes(doc.to_string().as_bytes()).unwrap()
}
