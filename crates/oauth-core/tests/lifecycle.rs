//! The token lifecycle under a virtual clock: every transition, deterministic, no sleeps.

use std::time::{Duration, SystemTime};

use pinterest_oauth_core::{
    Action, AppId, AppSecret, ClientConfig, ClientCredentialsGrant, Failure, Grant,
    LifecycleConfig, RetryAfter, Scope, Status, StopReason, Token, TokenDocument, TokenLifecycle,
    Wait, http, parse_token_response,
};
use proptest::prelude::*;

const HOUR: Duration = Duration::from_secs(3600);
const MIN: Duration = Duration::from_secs(60);
const DAY: Duration = Duration::from_secs(86_400);

fn t0() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000)
}

/// A token received at `at`, valid for `life`, with an optional refresh token valid 60 days.
fn token(at: SystemTime, access: &str, refresh: Option<&str>, life: Duration) -> Token {
    let refresh = refresh
        .map(|r| format!(r#","refresh_token":"{r}","refresh_token_expires_in":5184000"#))
        .unwrap_or_default();
    answer(
        at,
        &format!(
            r#"{{"access_token":"{access}","token_type":"bearer","expires_in":{},"scope":"boards:read"{refresh}}}"#,
            life.as_secs()
        ),
    )
}

fn answer(at: SystemTime, body: &str) -> Token {
    parse_token_response(at, &http::Response::new(body.to_owned())).unwrap()
}

/// The failure Pinterest's answer is classified as.
fn failure(status: u16, headers: &[(&str, &str)], body: &str) -> Failure {
    let mut response = http::Response::builder().status(status);
    for (name, value) in headers {
        response = response.header(*name, *value);
    }
    let response = response.body(body.to_owned()).unwrap();
    Failure::of(&parse_token_response(t0(), &response).unwrap_err())
}

fn client(secret: &str) -> ClientConfig {
    ClientConfig::new(AppId::new("1234567").unwrap(), AppSecret::new(secret))
}

/// A virtual clock and a lifecycle holding one fresh user token (1 hour, margin 10 minutes).
struct Scenario {
    now: SystemTime,
    lifecycle: TokenLifecycle,
}

impl Scenario {
    fn user() -> Scenario {
        Scenario::with(TokenLifecycle::new(
            LifecycleConfig::default(),
            token(t0(), "pina.1", Some("pinr.1"), HOUR),
        ))
    }

    fn with(lifecycle: TokenLifecycle) -> Scenario {
        Scenario {
            now: t0(),
            lifecycle,
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
        let grant = self.send();
        (self, grant)
    }

    /// Fast-forwards to a received refresh answer awaiting persistence, and takes the Persist.
    fn persisting(self) -> (Scenario, TokenDocument) {
        let (mut s, _) = self.refreshing();
        s.lifecycle
            .handle_token(s.now, token(s.now, "pina.2", Some("pinr.2"), HOUR));
        match s.poll() {
            Some(Action::Persist(doc)) => (s, doc),
            other => panic!("expected a persist, got {other:?}"),
        }
    }

    /// Feeds the answer to the send in flight and confirms its persistence.
    fn answered(&mut self, token: Token) -> TokenDocument {
        self.lifecycle.handle_token(self.now, token);
        let Some(Action::Persist(doc)) = self.poll() else {
            panic!("a new set is persisted")
        };
        self.lifecycle.confirm_persisted();
        doc
    }

    /// Feeds a failure to the send in flight and confirms the record of it; returns the record.
    fn failed(&mut self, failure: Failure, entropy: u64) -> TokenDocument {
        self.lifecycle.handle_failure(self.now, failure, entropy);
        let Some(Action::Persist(doc)) = self.poll() else {
            panic!("a failure is recorded for other processes")
        };
        self.lifecycle.confirm_persisted();
        doc
    }

    /// Takes the next send, confirming the record of the attempt that comes first (when
    /// there is a set to record it in).
    fn send(&mut self) -> Grant {
        match self.poll() {
            Some(Action::Send(grant)) => return grant,
            Some(Action::Persist(attempt)) => {
                // Counted at `now`, in whole seconds rounded up (as stored).
                assert!(
                    attempt
                        .state()
                        .requests()
                        .iter()
                        .any(|at| *at >= self.now && *at <= self.now + Duration::from_secs(1))
                );
                assert!(
                    attempt.state().not_before() > Some(self.now),
                    "a provisional backoff"
                );
                assert_eq!(self.status(), Status::Refreshing);
                assert_eq!(
                    self.poll(),
                    None,
                    "nothing is sent before the record is confirmed"
                );
                self.lifecycle.confirm_persisted();
            }
            other => panic!("expected a record of the attempt, got {other:?}"),
        }
        match self.poll() {
            Some(Action::Send(grant)) => grant,
            other => panic!("expected a send, got {other:?}"),
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
    assert_eq!(to_save.token().access_token().unwrap().secret(), "pina.2");
    assert_eq!(to_save.revision(), 2, "after the record of the attempt");
    assert_eq!(s.status(), Status::Persisting);
    assert_eq!(s.lifecycle.unsaved(), Some(&to_save));
    assert_eq!(s.poll(), None, "the persist is announced once");
    assert_eq!(
        s.access().as_deref(),
        Some("pina.1"),
        "not before it is saved"
    );
    s.lifecycle.confirm_persisted();
    assert_eq!(s.access().as_deref(), Some("pina.2"));
    assert_eq!(s.lifecycle.unsaved(), None);
    assert_eq!(s.status(), Status::Fresh);
    assert_eq!(s.lifecycle.failures(), 0);
}

#[test]
fn a_failed_save_is_retried_after_a_backoff_without_asking_again() {
    let (mut s, _) = Scenario::persisting(Scenario::user());
    s.lifecycle.persist_failed(s.now, 0);
    assert_eq!(s.status(), Status::Persisting);
    assert_eq!(s.poll(), None);
    assert!(s.lifecycle.unsaved().is_some(), "the new set is kept");
    let retry_at = s.lifecycle.poll_timeout().unwrap();
    // Equal jitter with zero entropy: half of the 1 s base.
    assert_eq!(retry_at, s.now + Duration::from_millis(500));
    s.now = retry_at;
    match s.poll() {
        Some(Action::Persist(doc)) => {
            assert_eq!(doc.token().access_token().unwrap().secret(), "pina.2")
        }
        other => panic!("{other:?}"),
    }
    s.lifecycle.confirm_persisted();
    assert_eq!(s.access().as_deref(), Some("pina.2"));
}

#[test]
fn a_save_retry_ends_when_the_store_holds_the_set_or_a_later_one() {
    // The store already holds the unsaved set (a copy kept aside was put in place elsewhere, at
    // a revision this process's retry could never match): adopted, nothing left to save.
    let (mut s, unsaved) = Scenario::persisting(Scenario::user());
    s.lifecycle.persist_failed(s.now, 0);
    let restored = unsaved.clone().after(Some(&unsaved));
    assert!(restored.revision() > unsaved.revision());
    assert!(s.lifecycle.handle_loaded(s.now, restored.clone()));
    assert!(s.lifecycle.unsaved().is_none());
    assert_eq!(s.status(), Status::Fresh);
    assert_eq!(s.access().as_deref(), Some("pina.2"));
    s.advance(HOUR / 2);
    assert_eq!(s.poll(), None, "no save is retried");

    // Another process put it in place and refreshed from it: that newer set is adopted.
    let (mut s, unsaved) = Scenario::persisting(Scenario::user());
    s.lifecycle.persist_failed(s.now, 0);
    let later = s.now + MIN;
    let successor = TokenDocument::new(token(later, "pina.3", Some("pinr.3"), HOUR))
        .rotating(&unsaved.clone().after(Some(&unsaved)));
    assert!(s.lifecycle.handle_loaded(s.now, successor));
    assert!(s.lifecycle.unsaved().is_none());
    assert_eq!(s.access().as_deref(), Some("pina.3"));

    // A set two refreshes later, or a new login, stored at a higher revision: adopted too.
    for later in ["pina.4", "pina.login"] {
        let (mut s, unsaved) = Scenario::persisting(Scenario::user());
        s.lifecycle.persist_failed(s.now, 0);
        let at = s.now + 2 * MIN;
        let stored = TokenDocument::new(token(at, later, Some("pinr.x"), HOUR))
            .succeeding(Some(&unsaved.clone().after(Some(&unsaved))));
        assert!(stored.revision() > unsaved.revision());
        assert!(s.lifecycle.handle_loaded(s.now, stored));
        assert!(s.lifecycle.unsaved().is_none());
        assert_eq!(s.access().as_deref(), Some(later));
    }

    // A login saved right after the failed save lands at the new set's own revision (both
    // follow the record of the attempt): adopted.
    let (mut s, unsaved) = Scenario::persisting(Scenario::user());
    s.lifecycle.persist_failed(s.now, 0);
    let record = s.lifecycle.document().unwrap();
    let login = TokenDocument::new(token(s.now, "pina.login", Some("pinr.login"), HOUR))
        .succeeding(Some(&record));
    assert_eq!(login.revision(), unsaved.revision());
    assert!(s.lifecycle.handle_loaded(s.now, login));
    assert!(s.lifecycle.unsaved().is_none());
    assert_eq!(s.access().as_deref(), Some("pina.login"));

    // The set it replaced, stripped of its revoked access token and recorded on since (at a
    // higher revision): its refresh token is spent, so the new set waits for its save.
    let (mut s, unsaved) = Scenario::persisting(Scenario::user());
    s.lifecycle.persist_failed(s.now, 0);
    let stripped = s.lifecycle.document().unwrap().without_access_token();
    let recorded = stripped.clone().after(Some(&stripped));
    for stored in [stripped, recorded] {
        assert!(!s.lifecycle.handle_loaded(s.now, stored));
        assert_eq!(
            s.lifecycle
                .unsaved()
                .unwrap()
                .token()
                .refresh_token()
                .unwrap()
                .secret(),
            "pinr.2"
        );
    }
    assert!(unsaved.revision() > 0);

    // Adopted whatever the clocks say: the current set was received "later" than the new one
    // (a clock stepped back, another host's clock ahead).
    let mut s = Scenario::with(TokenLifecycle::new(
        LifecycleConfig::default(),
        token(t0() + DAY, "pina.1", Some("pinr.1"), HOUR),
    ));
    s.lifecycle.request_refresh();
    let _ = s.send();
    s.lifecycle
        .handle_token(s.now, token(s.now, "pina.2", Some("pinr.2"), HOUR));
    let Some(Action::Persist(unsaved)) = s.poll() else {
        panic!("the new set is saved")
    };
    s.lifecycle.persist_failed(s.now, 0);
    assert!(
        s.lifecycle
            .handle_loaded(s.now, unsaved.clone().after(Some(&unsaved)))
    );
    assert!(s.lifecycle.unsaved().is_none());
    assert_eq!(
        s.lifecycle
            .token()
            .unwrap()
            .access_token()
            .unwrap()
            .secret(),
        "pina.2"
    );

    // Anything else (the set it replaced, with a record of another process's failure; a set
    // at a lower revision, written before the attempt) leaves the unsaved set waiting for its
    // save.
    let (mut s, unsaved) = Scenario::persisting(Scenario::user());
    s.lifecycle.persist_failed(s.now, 0);
    let old = TokenDocument::new(token(t0(), "pina.1", Some("pinr.1"), HOUR));
    assert!(!s.lifecycle.handle_loaded(s.now, old.after(Some(&unsaved))));
    let other = TokenDocument::new(token(s.now + MIN, "pina.9", Some("pinr.9"), HOUR));
    assert!(!s.lifecycle.handle_loaded(s.now, other));
    assert_eq!(s.status(), Status::Persisting);
    assert_eq!(
        s.lifecycle
            .unsaved()
            .unwrap()
            .token()
            .access_token()
            .unwrap()
            .secret(),
        "pina.2"
    );
}

#[test]
fn failures_back_off_exponentially_while_the_valid_token_is_kept() {
    let (mut s, _) = Scenario::user().refreshing();
    let first_send = s.now;
    let mut last_delay = Duration::ZERO;
    for attempt in 1..=4u32 {
        let entropy = u64::MAX; // the top of each jitter range
        let record = s.failed(Failure::Transient { retry_after: None }, entropy);
        assert_eq!(s.lifecycle.failures(), attempt);
        assert_eq!(
            record.state().failures(),
            attempt,
            "recorded for other processes"
        );
        let Status::Waiting {
            until,
            why: Wait::Backoff,
        } = s.status()
        else {
            panic!("{:?}", s.status())
        };
        assert_eq!(record.state().not_before(), Some(until));
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
        s.send();
    }
    // Five quick requests fill the budget: the sixth waits for the first to leave the window.
    s.failed(Failure::Transient { retry_after: None }, 0);
    let until = first_send + 5 * MIN;
    assert_eq!(
        s.status(),
        Status::Waiting {
            until,
            why: Wait::Budget
        }
    );
    s.now = until;
    s.send();
    // Past expiry nothing valid is left; the status says why.
    s.failed(Failure::Transient { retry_after: None }, 0);
    s.advance(HOUR);
    assert_eq!(s.access(), None);
    assert_eq!(s.status(), Status::Due);
    // Recovery.
    s.send();
    s.answered(token(s.now, "pina.2", Some("pinr.2"), HOUR));
    assert_eq!(s.access().as_deref(), Some("pina.2"));
    assert_eq!(s.lifecycle.failures(), 0);
}

#[test]
fn retry_after_is_honoured_up_to_its_cap() {
    let (mut s, _) = Scenario::user().refreshing();
    let retry_after = Some(RetryAfter::Delay(Duration::from_secs(120)));
    s.failed(Failure::Transient { retry_after }, 0);
    let until = s.now + Duration::from_secs(120);
    assert_eq!(
        s.status(),
        Status::Waiting {
            until,
            why: Wait::RateLimited
        }
    );
    s.now = until;
    s.send();
    let absurd = Some(RetryAfter::Delay(Duration::from_secs(86_400 * 365)));
    s.failed(
        Failure::Transient {
            retry_after: absurd,
        },
        0,
    );
    // Honoured up to a day: a day-long limit is not retried hourly.
    let until = s.now + 24 * HOUR;
    assert_eq!(
        s.status(),
        Status::Waiting {
            until,
            why: Wait::RateLimited
        }
    );
}

#[test]
fn rate_limit_reset_and_code_8_are_honoured() {
    let limited = failure(
        429,
        &[("x-ratelimit-reset", "900"), ("retry-after", "60")],
        r#"{"code":8,"message":"Max rate limit exceeded"}"#,
    );
    assert!(matches!(limited, Failure::RateLimited { .. }));
    let (mut s, _) = Scenario::user().refreshing();
    s.failed(limited, 0);
    let until = s.now + Duration::from_secs(900);
    assert_eq!(
        s.status(),
        Status::Waiting {
            until,
            why: Wait::RateLimited
        }
    );
    // Code 8 on another status is a rate limit too.
    assert!(matches!(
        failure(
            400,
            &[],
            r#"{"code":8,"message":"Max rate limit exceeded"}"#
        ),
        Failure::RateLimited { .. }
    ));
    // A forced refresh still waits for Pinterest's own limit.
    s.lifecycle.force_refresh();
    assert_eq!(s.poll(), None);
    s.now = until;
    s.send();
}

/// Found by the lifecycle fuzz target once it checked rate limits: a store that could not be
/// locked during a rate limit replaced Pinterest's wait (hours) with a store backoff (seconds),
/// after which a refresh went out, forced or not, long before the limit was over.
#[test]
fn a_store_failure_during_a_rate_limit_never_shortens_it() {
    let limited = failure(
        429,
        &[("x-ratelimit-reset", "26849")],
        r#"{"code":8,"message":"Max rate limit exceeded"}"#,
    );
    let (mut s, _) = Scenario::user().refreshing();
    s.failed(limited, 0);
    let until = s.now + Duration::from_secs(26_849);
    for entropy in [0, u64::MAX] {
        s.advance(Duration::from_secs(1));
        s.lifecycle.request_refresh();
        s.lifecycle.handle_store_failure(s.now, entropy);
        assert_eq!(
            s.status(),
            Status::Waiting {
                until,
                why: Wait::RateLimited
            }
        );
    }
    s.lifecycle.force_refresh();
    s.advance(HOUR);
    assert_eq!(s.poll(), None, "neither a due nor a forced refresh is sent");
    s.now = until;
    s.send();
}

#[test]
fn an_invalid_grant_stops_everything_until_a_new_set_is_loaded() {
    let (mut s, _) = Scenario::user().refreshing();
    let record = s.failed(Failure::InvalidGrant, 0);
    assert_eq!(
        record.state().stop().unwrap().reason(),
        StopReason::InvalidGrant
    );
    // An invalid grant holds whatever the app's configuration.
    assert!(record.state().stop().unwrap().applies_to(&client("any")));
    assert_eq!(s.status(), Status::ConsentNeeded);
    assert_eq!(s.lifecycle.poll_timeout(), None);
    s.advance(24 * HOUR);
    s.lifecycle.force_refresh();
    assert_eq!(s.poll(), None, "nothing is retried, even when forced");
    assert_eq!(s.access(), None);
    // Another process sharing the grant stops too.
    let mut other = Scenario::with(TokenLifecycle::user(
        LifecycleConfig::default(),
        Some(record),
    ));
    other.now = s.now;
    assert_eq!(other.status(), Status::ConsentNeeded);
    assert_eq!(other.poll(), None);
    // The user logged in again elsewhere; the new set is picked up.
    let fresh = TokenDocument::new(token(s.now, "pina.9", Some("pinr.9"), HOUR));
    assert!(s.lifecycle.handle_loaded(s.now, fresh.clone()));
    assert_eq!(s.status(), Status::Fresh);
    assert_eq!(s.access().as_deref(), Some("pina.9"));
    assert!(
        !s.lifecycle.handle_loaded(s.now, fresh),
        "same set: no change"
    );
}

#[test]
fn permanent_failures_stop_automatic_requests_until_the_config_changes_or_the_user_forces() {
    let cases = [
        (
            failure(401, &[], r#"{"code":2,"message":"Authentication failed."}"#),
            StopReason::InvalidClient,
        ),
        (
            failure(
                403,
                &[],
                r#"{"code":29,"message":"You are not permitted to access that resource."}"#,
            ),
            StopReason::Forbidden,
        ),
        (
            failure(400, &[], r#"{"code":1,"message":"Invalid parameters."}"#),
            StopReason::BadRequest,
        ),
        (
            failure(404, &[], "<html>not found</html>"),
            StopReason::BadRequest,
        ),
        (
            failure(
                429,
                &[],
                r#"{"code":8,"message":"m","message_detail":"blocked: spam"}"#,
            ),
            StopReason::Blocked,
        ),
        (
            failure(302, &[("location", "https://elsewhere.example/")], ""),
            StopReason::BadRequest,
        ),
    ];
    for (failed, reason) in cases {
        let config = LifecycleConfig::default();
        let lifecycle =
            TokenLifecycle::new(config.clone(), token(t0(), "pina.1", Some("pinr.1"), HOUR))
                .with_client(&client("old-secret"));
        let (mut s, _) = Scenario::with(lifecycle).refreshing();
        let record = s.failed(failed, 0);
        assert_eq!(s.status(), Status::Stopped { reason }, "{failed:?}");
        s.advance(DAY);
        assert_eq!(s.poll(), None, "{failed:?}: never retried automatically");
        assert_eq!(s.lifecycle.poll_timeout(), None);
        s.lifecycle.request_refresh();
        assert_eq!(
            s.poll(),
            None,
            "{failed:?}: not even when the API asks for one"
        );

        // The stop says which configuration it holds for (`status` shows it).
        let stop = *record.state().stop().expect("a stop is recorded");
        assert!(stop.applies_to(&client("old-secret")), "{failed:?}");
        assert!(!stop.applies_to(&client("new-secret")), "{failed:?}");
        // Another process with the same configuration honours the stop...
        let same = TokenLifecycle::user(config.clone(), Some(record.clone()))
            .with_client(&client("old-secret"));
        assert_eq!(same.status(s.now), Status::Stopped { reason });
        // ...one whose configuration was fixed does not.
        let mut fixed =
            TokenLifecycle::user(config.clone(), Some(record)).with_client(&client("new-secret"));
        assert_eq!(fixed.status(s.now), Status::Due);
        assert!(matches!(fixed.poll(s.now), Some(Action::Persist(_))));

        // The user may force one.
        s.lifecycle.force_refresh();
        s.send();
        s.answered(token(s.now, "pina.2", Some("pinr.2"), HOUR));
        assert_eq!(
            s.status(),
            Status::Fresh,
            "{failed:?}: a success lifts the stop"
        );
    }
    // Server errors and timeouts are not permanent.
    assert!(matches!(failure(503, &[], "{}"), Failure::Transient { .. }));
    assert!(matches!(failure(408, &[], "{}"), Failure::Transient { .. }));
    assert!(matches!(
        failure(200, &[], "not json"),
        Failure::Transient { .. }
    ));
}

#[test]
fn a_set_expired_on_arrival_is_persisted_but_not_chased() {
    let (mut s, _) = Scenario::user().refreshing();
    // Pinterest (or a proxy) answers with a token that expires at once: no storm.
    let doc = s.answered(token(s.now, "pina.2", Some("pinr.2"), Duration::ZERO));
    assert_eq!(
        doc.token().refresh_token().unwrap().secret(),
        "pinr.2",
        "still persisted"
    );
    assert_eq!(s.access(), None, "an expired token is never handed out");
    let until = s.now + MIN;
    assert_eq!(
        s.status(),
        Status::Waiting {
            until,
            why: Wait::Budget
        }
    );
    assert_eq!(s.lifecycle.poll_timeout(), Some(until));
    for _ in 0..59 {
        s.advance(Duration::from_secs(1));
        assert_eq!(s.poll(), None);
    }
    s.lifecycle.request_refresh();
    assert_eq!(
        s.poll(),
        None,
        "an API's 401 does not jump the budget either"
    );
    s.advance(Duration::from_secs(1));
    let Grant::RefreshToken(grant) = s.send() else {
        panic!()
    };
    assert_eq!(
        grant.refresh_token().secret(),
        "pinr.2",
        "the newest refresh token is spent"
    );
    // Likewise for a set shorter than a round trip, and for an unusable access token.
    s.answered(answer(
        s.now,
        r#"{"access_token":"pina 3","refresh_token":"pinr.3"}"#,
    ));
    assert_eq!(s.access(), None);
    assert!(matches!(
        s.status(),
        Status::Waiting {
            why: Wait::Budget,
            ..
        }
    ));
    // The budget is configurable.
    let quick = LifecycleConfig::default().with_min_refresh_interval(Duration::from_secs(5));
    let (mut q, _) = Scenario::with(TokenLifecycle::new(
        quick,
        token(t0(), "pina.1", Some("pinr.1"), HOUR),
    ))
    .refreshing();
    q.answered(token(q.now, "pina.2", Some("pinr.2"), Duration::ZERO));
    q.advance(Duration::from_secs(5));
    q.send();
}

#[test]
fn rotation_is_chased_only_while_refreshes_renew_the_refresh_token() {
    let long = Duration::from_secs(30 * 86_400);
    let mut s = Scenario::with(TokenLifecycle::new(
        LifecycleConfig::default(),
        token(t0(), "pina.1", Some("pinr.1"), long),
    ));
    // The 60-day refresh token is renewed 7 days before it lapses, although the access token
    // was refreshed on day 20 (30-day tokens, 10-minute margin): day 53.
    s.now = t0() + Duration::from_secs(53 * 86_400);
    s.send();
    // This server does not renew: the answer has no refresh token (a legacy grant).
    s.answered(answer(
        s.now,
        &format!(
            r#"{{"access_token":"pina.2","expires_in":{}}}"#,
            long.as_secs()
        ),
    ));
    assert_eq!(s.lifecycle.state().renews(), Some(false));
    let lapse = t0() + Duration::from_secs(60 * 86_400);
    assert_eq!(
        s.lifecycle.refresh_token_lapses_at(s.now),
        Some(lapse),
        "the user is warned"
    );
    // No more chasing: nothing is due until the access token's own margin (or the lapse).
    let mut sends = 0;
    while s.now < lapse {
        s.advance(HOUR);
        if let Some(Action::Send(_)) = s.poll() {
            sends += 1;
            s.answered(answer(
                s.now,
                &format!(
                    r#"{{"access_token":"pina.x","expires_in":{}}}"#,
                    long.as_secs()
                ),
            ));
        }
    }
    assert_eq!(sends, 0, "seven days without a refresh request");
    // Where a refresh renews it, the next renewal is due 7 days before the new expiry.
    let mut r = Scenario::with(TokenLifecycle::new(
        LifecycleConfig::default(),
        token(t0(), "pina.1", Some("pinr.1"), long),
    ));
    r.now = t0() + Duration::from_secs(53 * 86_400);
    r.send();
    r.answered(token(r.now, "pina.2", Some("pinr.2"), long));
    assert_eq!(r.lifecycle.state().renews(), Some(true));
    assert_eq!(r.lifecycle.refresh_token_lapses_at(r.now), None);
    assert_eq!(
        r.lifecycle.refresh_due_at(),
        Some(r.now + long - 10 * MIN),
        "the access token's margin comes first again"
    );
}

#[test]
fn an_omitted_scope_keeps_the_stored_scopes() {
    let (mut s, _) = Scenario::user().refreshing();
    let doc = s.answered(answer(
        s.now,
        r#"{"access_token":"pina.2","refresh_token":"pinr.2","expires_in":3600}"#,
    ));
    assert_eq!(doc.token().scopes(), [Scope::BoardsRead]);
    assert_eq!(s.lifecycle.token().unwrap().scopes(), [Scope::BoardsRead]);
    // Space-separated scopes, as Pinterest's own sample answers them, are read too.
    s.advance(HOUR);
    s.send();
    let doc = s.answered(answer(s.now, r#"{"access_token":"pina.3","refresh_token":"pinr.3","expires_in":3600,"scope":"boards:read pins:read"}"#));
    assert_eq!(doc.token().scopes(), [Scope::BoardsRead, Scope::PinsRead]);
}

#[test]
fn a_refresh_answer_with_odd_fields_keeps_its_rotated_refresh_token() {
    let (mut s, _) = Scenario::user().refreshing();
    let doc = s.answered(answer(
        s.now,
        r#"{"access_token":"pina.2","refresh_token":"pinr.2","scope":{"a":1},"refresh_token_expires_in":"x","refresh_token_expires_at":"y"}"#,
    ));
    assert_eq!(doc.token().refresh_token().unwrap().secret(), "pinr.2");
    assert_eq!(
        doc.token().scopes(),
        [Scope::BoardsRead],
        "kept from before"
    );
    let Grant::RefreshToken(next) = ({
        s.advance(HOUR);
        s.send()
    }) else {
        panic!()
    };
    assert_eq!(
        next.refresh_token().secret(),
        "pinr.2",
        "the rotated token is the one spent"
    );
}

#[test]
fn without_a_token_or_a_refresh_token_consent_is_needed() {
    let mut empty = TokenLifecycle::user(LifecycleConfig::default(), None);
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
    assert_eq!(
        no_refresh.status(due),
        Status::Fresh,
        "usable until it expires"
    );
    assert!(no_refresh.access_token(due).is_some());
    assert_eq!(no_refresh.status(t0() + HOUR), Status::ConsentNeeded);
}

#[test]
fn a_refresh_answer_without_a_refresh_token_keeps_the_old_one() {
    let (mut s, _) = Scenario::user().refreshing();
    s.lifecycle
        .handle_token(s.now, token(s.now, "pina.2", None, HOUR));
    let Some(Action::Persist(saved)) = s.poll() else {
        panic!()
    };
    assert_eq!(saved.token().refresh_token().unwrap().secret(), "pinr.1");
    assert!(saved.token().refresh_token_expires_at().is_some());
}

#[test]
fn client_credentials_asks_at_once_and_again_before_expiry() {
    let grant = ClientCredentialsGrant::new(vec![Scope::AdsRead]).unwrap();
    let mut s = Scenario::with(TokenLifecycle::client_credentials(
        LifecycleConfig::default(),
        grant,
        None,
    ));
    assert_eq!(s.status(), Status::Due);
    assert_eq!(s.access(), None);
    let Grant::ClientCredentials(sent) = s.send() else {
        panic!()
    };
    assert_eq!(sent.scopes(), [Scope::AdsRead]);
    s.answered(token(s.now, "pina.app1", None, HOUR));
    assert_eq!(s.access().as_deref(), Some("pina.app1"));
    s.advance(50 * MIN);
    assert!(matches!(s.send(), Grant::ClientCredentials(_)));
    // An invalid grant cannot mean "log in again" for an app token: it stops like a refusal.
    s.failed(Failure::InvalidGrant, 0);
    assert_eq!(
        s.status(),
        Status::Stopped {
            reason: StopReason::BadRequest
        }
    );
}

#[test]
fn an_app_token_whose_save_is_retried_gives_way_to_one_stored_later() {
    let grant = ClientCredentialsGrant::new(vec![Scope::AdsRead]).unwrap();
    let mut s = Scenario::with(TokenLifecycle::client_credentials(
        LifecycleConfig::default(),
        grant,
        None,
    ));
    let _ = s.send();
    s.lifecycle
        .handle_token(s.now, token(s.now, "pina.app1", None, HOUR));
    let Some(Action::Persist(unsaved)) = s.poll() else {
        panic!("the app token is saved")
    };
    s.lifecycle.persist_failed(s.now, 0);
    // Another process stored an app token of its own meanwhile: adopted, no save retried.
    let theirs =
        TokenDocument::new(token(s.now, "pina.app2", None, HOUR)).succeeding(Some(&unsaved));
    assert!(s.lifecycle.handle_loaded(s.now, theirs));
    assert!(s.lifecycle.unsaved().is_none());
    assert_eq!(s.access().as_deref(), Some("pina.app2"));
    // A user's set never gives way to an app token, whatever its revision.
    let (mut s, unsaved) = Scenario::persisting(Scenario::user());
    s.lifecycle.persist_failed(s.now, 0);
    let app = TokenDocument::new(token(s.now, "pina.app", None, HOUR))
        .succeeding(Some(&unsaved.clone().after(Some(&unsaved))));
    assert!(!s.lifecycle.handle_loaded(s.now, app));
    assert!(s.lifecycle.unsaved().is_some());
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
fn an_older_stored_set_is_not_adopted_and_forced_refreshes_respect_what_they_must() {
    let mut s = Scenario::user();
    let older = TokenDocument::new(token(s.now - HOUR, "pina.0", Some("pinr.0"), HOUR));
    assert!(!s.lifecycle.handle_loaded(s.now, older));
    assert_eq!(s.access().as_deref(), Some("pina.1"));

    assert_eq!(s.poll(), None);
    s.lifecycle.request_refresh();
    assert_eq!(s.status(), Status::Due);
    s.send();
    s.answered(token(s.now, "pina.2", Some("pinr.2"), HOUR));
    assert_eq!(s.status(), Status::Fresh, "the requested refresh is done");
    // Within the budget, a requested refresh waits; the user's own does not.
    s.lifecycle.request_refresh();
    assert!(matches!(
        s.status(),
        Status::Waiting {
            why: Wait::Budget,
            ..
        }
    ));
    s.lifecycle.force_refresh();
    s.send();
    s.failed(Failure::Transient { retry_after: None }, 0);
    // The user's force also cuts a backoff short; a requested one does not.
    s.lifecycle.request_refresh();
    assert_eq!(s.poll(), None);
    s.lifecycle.force_refresh();
    s.send();
}

#[test]
fn a_stored_deadline_holds_in_another_process() {
    let (mut s, _) = Scenario::user().refreshing();
    let record = s.failed(
        failure(
            429,
            &[("retry-after", "1800")],
            r#"{"code":8,"message":"m"}"#,
        ),
        0,
    );
    // A second process (a later CLI run) starts from the stored document.
    let mut other = TokenLifecycle::user(LifecycleConfig::default(), Some(record.clone()));
    let until = s.now + Duration::from_secs(1800);
    for minute in 0..30 {
        let at = s.now + MIN * minute;
        assert_eq!(other.poll(at), None, "minute {minute}");
    }
    assert!(matches!(other.poll(until), Some(Action::Persist(_))));
    // A process that was running merges the stored deadline when it loads the file.
    let mut running = TokenLifecycle::new(
        LifecycleConfig::default(),
        token(t0(), "pina.1", Some("pinr.1"), HOUR),
    );
    assert!(running.handle_loaded(s.now, record));
    assert_eq!(
        running.status(s.now),
        Status::Waiting {
            until,
            why: Wait::RateLimited
        }
    );
}

#[test]
fn nothing_is_sent_when_the_attempt_cannot_be_recorded() {
    let mut s = Scenario::user();
    s.advance(50 * MIN);
    let Some(Action::Persist(_)) = s.poll() else {
        panic!()
    };
    // The store refuses the record (read-only directory, disk full): the refresh token is not
    // spent, and the next attempt backs off.
    s.lifecycle.persist_failed(s.now, 0);
    assert!(matches!(
        s.status(),
        Status::Waiting {
            why: Wait::Backoff,
            ..
        }
    ));
    assert_eq!(s.poll(), None);
    assert_eq!(
        s.access().as_deref(),
        Some("pina.1"),
        "the valid token is still used"
    );
    s.now = s.lifecycle.poll_timeout().unwrap();
    let Grant::RefreshToken(grant) = s.send() else {
        panic!()
    };
    assert_eq!(
        grant.refresh_token().secret(),
        "pinr.1",
        "the same, unspent refresh token"
    );
}

#[test]
fn the_budget_caps_every_request_even_forced_ones() {
    let mut s = Scenario::user();
    let mut sent = Vec::new();
    for _ in 0..40 {
        s.lifecycle.force_refresh();
        if let Some(Action::Persist(_)) = s.poll() {
            s.lifecycle.confirm_persisted();
            s.send();
            sent.push(s.now);
            s.answered(token(s.now, "pina.n", Some("pinr.1"), HOUR));
        }
        s.advance(Duration::from_secs(10));
    }
    // Five in any five minutes: 0, 10, …, 40 s, then 300, 310, … once the first ones leave
    // the window.
    assert_eq!(sent.len(), 10, "{sent:?}");
    for window in sent.windows(6) {
        assert!(
            window[5].duration_since(window[0]).unwrap() >= 5 * MIN,
            "{sent:?}"
        );
    }
    assert!(matches!(
        s.status(),
        Status::Waiting {
            why: Wait::Budget,
            ..
        } | Status::Fresh
    ));
}

#[test]
fn answers_and_confirmations_nobody_asked_for_change_nothing() {
    let mut s = Scenario::user();
    let before = (s.lifecycle.document(), s.lifecycle.status(s.now));
    s.lifecycle
        .handle_token(s.now, token(s.now, "pina.x", Some("pinr.x"), HOUR));
    s.lifecycle.handle_failure(s.now, Failure::InvalidGrant, 0);
    s.lifecycle.confirm_persisted();
    s.lifecycle.persist_failed(s.now, 0);
    assert_eq!((s.lifecycle.document(), s.lifecycle.status(s.now)), before);
    assert!(s.lifecycle.unsaved().is_none());
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
}

#[test]
fn times_written_by_a_clock_that_ran_ahead_never_block_for_long() {
    let (mut s, _) = Scenario::user().refreshing();
    let record = s.failed(
        failure(429, &[("retry-after", "60")], r#"{"code":8,"message":"m"}"#),
        0,
    );
    // The document as a process whose clock ran two years ahead wrote it.
    let ahead = Duration::from_secs(2 * 365 * 86_400);
    let mut text: serde_json::Value = serde_json::from_slice(&record.to_bytes()).unwrap();
    let shift = |v: &mut serde_json::Value| *v = (v.as_u64().unwrap() + ahead.as_secs()).into();
    shift(&mut text["lifecycle"]["not_before"]);
    for at in text["lifecycle"]["requests"].as_array_mut().unwrap() {
        shift(at);
    }
    let skewed = TokenDocument::from_bytes(text.to_string().as_bytes()).unwrap();
    let mut running = TokenLifecycle::new(
        LifecycleConfig::default(),
        token(t0(), "pina.1", Some("pinr.1"), HOUR),
    );
    running.handle_loaded(s.now, skewed);
    // At most the longest wait the lifecycle itself sets (a day), not two years.
    match running.status(s.now) {
        // (A second of slack: stored times are whole seconds, rounded up.)
        Status::Waiting { until, .. } => {
            assert!(
                until <= s.now + 24 * HOUR + Duration::from_secs(1),
                "{until:?}"
            )
        }
        other => panic!("{other:?}"),
    }
    let later = s.now + 24 * HOUR + Duration::from_secs(2);
    running.force_refresh();
    assert!(
        running.poll(later).is_some(),
        "a refresh goes within the day"
    );
}

/// Runs a day, polling every minute, against a server whose answers say the refresh token
/// expires as `expiry` (given the answer's arrival time and serial) puts it; returns how many
/// requests went out.
fn requests_in_a_day(expiry: impl Fn(SystemTime, u32) -> String) -> u32 {
    let body = |at: SystemTime, n: u32| {
        format!(
            r#"{{"access_token":"pina.{n}","token_type":"bearer","expires_in":2592000,"scope":"boards:read","refresh_token":"pinr.{n}"{}}}"#,
            expiry(at, n)
        )
    };
    let start = t0();
    let mut lifecycle =
        TokenLifecycle::new(LifecycleConfig::default(), answer(start, &body(start, 0)));
    let mut sent = 0;
    let mut now = start;
    while now < start + DAY {
        while let Some(action) = lifecycle.poll(now) {
            match action {
                Action::Persist(_) => lifecycle.confirm_persisted(),
                Action::Send(_) => {
                    sent += 1;
                    lifecycle.handle_token(now, answer(now, &body(now, sent)));
                }
                _ => unreachable!(),
            }
        }
        now += MIN;
    }
    sent
}

#[test]
fn a_refresh_token_expiry_past_on_arrival_is_never_chased_every_minute() {
    let unix = |t: SystemTime| t.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs();
    type Expiry = Box<dyn Fn(SystemTime, u32) -> String>;
    let cases: [(&str, Expiry); 5] = [
        (
            "zero, with a lifetime",
            Box::new(|_, _| {
                r#","refresh_token_expires_in":5184000,"refresh_token_expires_at":0"#.into()
            }),
        ),
        (
            "zero alone",
            Box::new(|_, _| r#","refresh_token_expires_at":0"#.into()),
        ),
        (
            "sent relative, with a lifetime",
            Box::new(|_, _| {
                r#","refresh_token_expires_in":5184000,"refresh_token_expires_at":5184000"#.into()
            }),
        ),
        (
            "sent relative alone",
            Box::new(|_, _| r#","refresh_token_expires_at":5184000"#.into()),
        ),
        // The client's clock runs 90 days fast: the server's time is past on arrival.
        (
            "a clock far ahead",
            Box::new(move |at, _| {
                format!(
                    r#","refresh_token_expires_in":5184000,"refresh_token_expires_at":{}"#,
                    unix(at) + 5_184_000 - 90 * 86_400
                )
            }),
        ),
    ];
    for (case, expiry) in cases {
        let sent = requests_in_a_day(expiry);
        // The access token lasts 30 days; only the refresh token's renewal could ask, and it
        // never asks more often than every six hours.
        assert!(sent <= 4, "{case}: {sent} requests in a day");
    }
}
