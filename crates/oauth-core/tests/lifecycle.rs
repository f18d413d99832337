//! The token lifecycle under a virtual clock: every transition, deterministic, no sleeps.

use std::time::{Duration, SystemTime};

use pinterest_oauth_core::{
    Action, ClientCredentialsGrant, Error, Failure, Grant, LifecycleConfig, RetryAfter, Scope,
    Status, Token, TokenLifecycle, http, parse_token_response,
};
use proptest::prelude::*;

const HOUR: Duration = Duration::from_secs(3600);
const MIN: Duration = Duration::from_secs(60);

fn t0() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000)
}

/// A token received at `at`, valid for `life`, with an optional refresh token valid 60 days.
fn token(at: SystemTime, access: &str, refresh: Option<&str>, life: Duration) -> Token {
    let refresh = refresh
        .map(|r| format!(r#","refresh_token":"{r}","refresh_token_expires_in":5184000"#))
        .unwrap_or_default();
    let body = format!(
        r#"{{"access_token":"{access}","token_type":"bearer","expires_in":{},"scope":"boards:read"{refresh}}}"#,
        life.as_secs()
    );
    parse_token_response(at, &http::Response::new(body)).unwrap()
}

/// A virtual clock and a lifecycle holding one fresh user token (1 hour, margin 10 minutes).
struct Scenario {
    now: SystemTime,
    lifecycle: TokenLifecycle,
}

impl Scenario {
    fn user() -> Scenario {
        Scenario {
            now: t0(),
            lifecycle: TokenLifecycle::new(
                LifecycleConfig::default(),
                token(t0(), "pina.1", Some("pinr.1"), HOUR),
            ),
        }
    }

    fn advance(&mut self, by: Duration) {
        self.now += by;
    }

    fn poll(&mut self) -> Option<Action> {
        self.lifecycle.poll(self.now)
    }

    fn access(&self) -> Option<String> {
        self.lifecycle
            .access_token(self.now)
            .map(|t| t.secret().to_owned())
    }

    fn status(&self) -> Status {
        self.lifecycle.status(self.now)
    }

    /// Fast-forwards to the moment a refresh is due and takes the Send.
    fn refreshing(mut self) -> (Scenario, Grant) {
        self.advance(50 * MIN);
        match self.poll() {
            Some(Action::Send(grant)) => (self, grant),
            other => panic!("expected a send, got {other:?}"),
        }
    }

    /// Fast-forwards to a received refresh answer awaiting persistence, and takes the Persist.
    fn persisting(self) -> (Scenario, Token) {
        let (mut s, _) = self.refreshing();
        s.lifecycle
            .handle_token(s.now, token(s.now, "pina.2", Some("pinr.2"), HOUR))
            .unwrap();
        match s.poll() {
            Some(Action::Persist(token)) => (s, token),
            other => panic!("expected a persist, got {other:?}"),
        }
    }
}

#[test]
fn fresh_token_is_used_and_nothing_is_due() {
    let mut s = Scenario::user();
    assert_eq!(s.status(), Status::Fresh);
    assert_eq!(s.poll(), None);
    assert_eq!(s.access().as_deref(), Some("pina.1"));
    // Due 10 minutes before the hour is up.
    assert_eq!(s.lifecycle.refresh_due_at(), Some(t0() + 50 * MIN));
    assert_eq!(s.lifecycle.poll_timeout(), Some(t0() + 50 * MIN));
    s.advance(50 * MIN - Duration::from_secs(1));
    assert_eq!(s.poll(), None);
}

#[test]
fn due_refresh_is_sent_once_while_the_old_token_stays_usable() {
    let (mut s, grant) = Scenario::user().refreshing();
    match &grant {
        Grant::RefreshToken(g) => assert_eq!(g.refresh_token().secret(), "pinr.1"),
        other => panic!("{other:?}"),
    }
    assert_eq!(s.status(), Status::Refreshing);
    assert_eq!(s.poll(), None, "one request in flight at a time");
    assert_eq!(s.lifecycle.poll_timeout(), None);
    assert_eq!(s.access().as_deref(), Some("pina.1"));
}

#[test]
fn a_new_set_is_handed_out_only_once_persisted() {
    let (mut s, to_save) = Scenario::persisting(Scenario::user());
    assert_eq!(to_save.access_token().secret(), "pina.2");
    assert_eq!(s.status(), Status::Persisting);
    assert_eq!(s.poll(), None, "the persist is announced once");
    assert_eq!(
        s.access().as_deref(),
        Some("pina.1"),
        "not before it is saved"
    );
    s.lifecycle.confirm_persisted(s.now).unwrap();
    assert_eq!(s.access().as_deref(), Some("pina.2"));
    assert_eq!(s.status(), Status::Fresh);
    assert_eq!(s.lifecycle.failures(), 0);
}

#[test]
fn a_failed_save_is_retried_after_a_backoff_without_asking_again() {
    let (mut s, _) = Scenario::persisting(Scenario::user());
    s.lifecycle.persist_failed(s.now, 0).unwrap();
    assert_eq!(s.status(), Status::Persisting);
    assert_eq!(s.poll(), None);
    let retry_at = s.lifecycle.poll_timeout().unwrap();
    // Equal jitter with zero entropy: half of the 1 s base.
    assert_eq!(retry_at, s.now + Duration::from_millis(500));
    s.now = retry_at;
    match s.poll() {
        Some(Action::Persist(token)) => assert_eq!(token.access_token().secret(), "pina.2"),
        other => panic!("{other:?}"),
    }
    s.lifecycle.confirm_persisted(s.now).unwrap();
    assert_eq!(s.access().as_deref(), Some("pina.2"));
}

#[test]
fn failures_back_off_exponentially_while_the_valid_token_is_kept() {
    let (mut s, _) = Scenario::user().refreshing();
    let mut last_delay = Duration::ZERO;
    for attempt in 1..=5u32 {
        let entropy = u64::MAX; // the top of each jitter range
        s.lifecycle
            .handle_failure(s.now, Failure::Retry { retry_after: None }, entropy)
            .unwrap();
        assert_eq!(s.lifecycle.failures(), attempt);
        let Status::Backoff { until } = s.status() else {
            panic!("{:?}", s.status())
        };
        let delay = until.duration_since(s.now).unwrap();
        let full = Duration::from_secs(1 << (attempt - 1));
        assert!(delay >= full / 2 && delay <= full, "{attempt}: {delay:?}");
        assert!(delay > last_delay);
        last_delay = delay;
        assert_eq!(
            s.access().as_deref(),
            Some("pina.1"),
            "still valid: still handed out"
        );
        assert_eq!(s.poll(), None, "no retry before the backoff ends");
        s.now = until;
        assert!(matches!(s.poll(), Some(Action::Send(_))));
    }
    // Past expiry nothing valid is left; the status says why.
    s.lifecycle
        .handle_failure(s.now, Failure::Retry { retry_after: None }, 0)
        .unwrap();
    s.advance(HOUR);
    assert_eq!(s.access(), None);
    assert_eq!(s.status(), Status::Due);
    // Recovery.
    assert!(matches!(s.poll(), Some(Action::Send(_))));
    s.lifecycle
        .handle_token(s.now, token(s.now, "pina.2", Some("pinr.2"), HOUR))
        .unwrap();
    assert!(matches!(s.poll(), Some(Action::Persist(_))));
    s.lifecycle.confirm_persisted(s.now).unwrap();
    assert_eq!(s.access().as_deref(), Some("pina.2"));
    assert_eq!(s.lifecycle.failures(), 0);
}

#[test]
fn retry_after_is_honoured_up_to_its_cap() {
    let (mut s, _) = Scenario::user().refreshing();
    let retry_after = Some(RetryAfter::Delay(Duration::from_secs(120)));
    s.lifecycle
        .handle_failure(s.now, Failure::Retry { retry_after }, 0)
        .unwrap();
    assert_eq!(
        s.status(),
        Status::Backoff {
            until: s.now + Duration::from_secs(120)
        }
    );
    s.now += Duration::from_secs(120);
    assert!(matches!(s.poll(), Some(Action::Send(_))));
    let absurd = Some(RetryAfter::Delay(Duration::from_secs(86_400 * 365)));
    s.lifecycle
        .handle_failure(
            s.now,
            Failure::Retry {
                retry_after: absurd,
            },
            0,
        )
        .unwrap();
    assert_eq!(
        s.status(),
        Status::Backoff {
            until: s.now + HOUR
        }
    );
}

#[test]
fn an_invalid_grant_stops_everything_until_a_new_set_is_loaded() {
    let (mut s, _) = Scenario::user().refreshing();
    s.lifecycle
        .handle_failure(s.now, Failure::InvalidGrant, 0)
        .unwrap();
    assert_eq!(s.status(), Status::ConsentNeeded);
    assert_eq!(s.lifecycle.poll_timeout(), None);
    s.advance(24 * HOUR);
    assert_eq!(s.poll(), None, "nothing is retried");
    assert_eq!(s.access(), None);
    // The user logged in again elsewhere; the new set is picked up.
    let fresh = token(s.now, "pina.9", Some("pinr.9"), HOUR);
    assert!(s.lifecycle.handle_loaded(s.now, fresh.clone()).unwrap());
    assert_eq!(s.status(), Status::Fresh);
    assert_eq!(s.access().as_deref(), Some("pina.9"));
    assert!(
        !s.lifecycle.handle_loaded(s.now, fresh).unwrap(),
        "same set: no change"
    );
}

#[test]
fn without_a_token_or_a_refresh_token_consent_is_needed() {
    let mut empty = TokenLifecycle::empty(LifecycleConfig::default());
    assert_eq!(empty.status(t0()), Status::ConsentNeeded);
    assert_eq!(empty.poll(t0()), None);
    assert_eq!(empty.access_token(t0()), None);

    let mut no_refresh = TokenLifecycle::new(
        LifecycleConfig::default(),
        token(t0(), "pina.1", None, HOUR),
    );
    assert_eq!(no_refresh.poll(t0()), None);
    let due = t0() + 55 * MIN;
    assert_eq!(no_refresh.poll(due), None);
    assert_eq!(no_refresh.status(due), Status::ConsentNeeded);
    assert!(
        no_refresh.access_token(due).is_some(),
        "usable until it expires"
    );
}

#[test]
fn a_refresh_answer_without_a_refresh_token_keeps_the_old_one() {
    let (mut s, _) = Scenario::user().refreshing();
    s.lifecycle
        .handle_token(s.now, token(s.now, "pina.2", None, HOUR))
        .unwrap();
    let Some(Action::Persist(saved)) = s.poll() else {
        panic!()
    };
    assert_eq!(saved.refresh_token().unwrap().secret(), "pinr.1");
    assert!(saved.refresh_token_expires_at().is_some());
}

#[test]
fn client_credentials_asks_at_once_and_again_before_expiry() {
    let grant = ClientCredentialsGrant::new(vec![Scope::AdsRead]).unwrap();
    let mut l = TokenLifecycle::client_credentials(LifecycleConfig::default(), grant, None);
    assert_eq!(l.status(t0()), Status::Due);
    assert_eq!(l.access_token(t0()), None);
    let Some(Action::Send(Grant::ClientCredentials(sent))) = l.poll(t0()) else {
        panic!()
    };
    assert_eq!(sent.scopes(), [Scope::AdsRead]);
    l.handle_token(t0(), token(t0(), "pina.app1", None, HOUR))
        .unwrap();
    assert!(matches!(l.poll(t0()), Some(Action::Persist(_))));
    l.confirm_persisted(t0()).unwrap();
    assert_eq!(l.access_token(t0()).unwrap().secret(), "pina.app1");
    let due = t0() + 50 * MIN;
    assert!(matches!(
        l.poll(due),
        Some(Action::Send(Grant::ClientCredentials(_)))
    ));
    // An invalid grant here is no reason to stop: an app token is simply asked for again.
    l.handle_failure(due, Failure::InvalidGrant, 0).unwrap();
    assert!(matches!(l.status(due), Status::Backoff { .. }));
}

#[test]
fn margins_never_exceed_half_a_lifetime() {
    // A 60 s token with the default 10-minute margin is due after 30 s, not at once.
    let l = TokenLifecycle::new(
        LifecycleConfig::default(),
        token(t0(), "pina.1", Some("pinr.1"), MIN),
    );
    assert_eq!(l.refresh_due_at(), Some(t0() + Duration::from_secs(30)));
    // A refresh token expiring in 60 days is rotated 7 days early even if the access token is
    // fresh: an idle app never lets its continuous refresh token lapse.
    let long = TokenLifecycle::new(
        LifecycleConfig::default(),
        token(
            t0(),
            "pina.1",
            Some("pinr.1"),
            Duration::from_secs(90 * 86_400),
        ),
    );
    assert_eq!(
        long.refresh_due_at(),
        Some(t0() + Duration::from_secs(53 * 86_400))
    );
}

#[test]
fn an_older_stored_set_is_not_adopted_and_a_forced_refresh_is_due_at_once() {
    let mut s = Scenario::user();
    let older = token(s.now - HOUR, "pina.0", Some("pinr.0"), HOUR);
    assert!(!s.lifecycle.handle_loaded(s.now, older).unwrap());
    assert_eq!(s.access().as_deref(), Some("pina.1"));

    assert_eq!(s.poll(), None);
    s.lifecycle.request_refresh(s.now);
    assert_eq!(s.status(), Status::Due);
    assert!(matches!(s.poll(), Some(Action::Send(_))));
    s.lifecycle
        .handle_token(s.now, token(s.now, "pina.2", Some("pinr.2"), HOUR))
        .unwrap();
    assert!(matches!(s.poll(), Some(Action::Persist(_))));
    s.lifecycle.confirm_persisted(s.now).unwrap();
    assert_eq!(s.status(), Status::Fresh, "the forced refresh is done");
    // Forcing also cuts a backoff short.
    let (mut s, _) = Scenario::user().refreshing();
    s.lifecycle
        .handle_failure(s.now, Failure::Retry { retry_after: None }, 0)
        .unwrap();
    assert_eq!(s.poll(), None);
    s.lifecycle.request_refresh(s.now);
    assert!(matches!(s.poll(), Some(Action::Send(_))));
}

#[test]
fn calls_out_of_order_are_typed_errors() {
    let mut s = Scenario::user();
    let t = token(s.now, "pina.x", None, HOUR);
    let out_of_order = |r: Result<(), Error>| {
        assert!(matches!(r, Err(Error::LifecycleOutOfOrder { .. })), "{r:?}");
    };
    out_of_order(s.lifecycle.handle_token(s.now, t.clone()));
    out_of_order(s.lifecycle.handle_failure(s.now, Failure::InvalidGrant, 0));
    out_of_order(s.lifecycle.confirm_persisted(s.now));
    out_of_order(s.lifecycle.persist_failed(s.now, 0));
    let (mut s, _) = s.refreshing();
    out_of_order(s.lifecycle.confirm_persisted(s.now));
    assert!(s.lifecycle.handle_loaded(s.now, t.clone()).is_err());
    let (mut s, _) = Scenario::persisting(Scenario::user());
    out_of_order(s.lifecycle.handle_token(s.now, t.clone()));
    assert!(s.lifecycle.handle_loaded(s.now, t).is_err());
    let err = s
        .lifecycle
        .handle_failure(s.now, Failure::InvalidGrant, 0)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "token lifecycle: `handle_failure` is not valid while persisting"
    );
}

proptest! {
    #[test]
    fn backoff_stays_within_half_and_full_of_the_capped_exponential(
        failures in 1u32..100,
        entropy in any::<u64>(),
    ) {
        let config = LifecycleConfig::default();
        let delay = config.backoff(failures, entropy);
        let full = Duration::from_secs(1)
            .saturating_mul(1u32 << (failures - 1).min(30))
            .min(Duration::from_secs(300));
        prop_assert!(delay >= full / 2 && delay <= full, "{failures}: {delay:?}");
    }

    #[test]
    fn the_lifecycle_never_panics_and_never_hands_out_an_expired_token(
        steps in proptest::collection::vec((0u8..8, 0u64..7200, any::<u64>()), 1..60),
    ) {
        let mut s = Scenario::user();
        let mut n = 0;
        for (op, secs, entropy) in steps {
            s.advance(Duration::from_secs(secs));
            n += 1;
            let _ = match op {
                0 => s.poll().map(|_| ()).ok_or(Error::EmptyScopes),
                1 => s.lifecycle.handle_token(s.now, token(s.now, &format!("pina.{n}"), Some("pinr"), HOUR)),
                2 => s.lifecycle.handle_failure(s.now, Failure::Retry { retry_after: None }, entropy),
                3 => s.lifecycle.handle_failure(s.now, Failure::InvalidGrant, entropy),
                4 => s.lifecycle.confirm_persisted(s.now),
                5 => s.lifecycle.persist_failed(s.now, entropy),
                6 => s.lifecycle.handle_loaded(s.now, token(s.now, &format!("pina.{n}"), Some("pinr"), HOUR)).map(|_| ()),
                _ => Ok(()),
            };
            if let Some(current) = s.lifecycle.token() {
                prop_assert_eq!(s.lifecycle.access_token(s.now).is_some(), !current.is_expired(s.now));
            }
            let _ = (s.status(), s.lifecycle.poll_timeout());
        }
    }
}
