//! What the lifecycle remembers across processes, kept in the token document: the request
//! budget, backoff, a stop after a failure no retry can mend.

use std::fmt;
use std::time::SystemTime;

/// The lifecycle's memory of a grant, stored in its [`TokenDocument`](crate::TokenDocument)
/// so that every process sharing the grant honours it: the request budget, backoff after
/// failures, a stop after a failure no retry can mend, and whether refreshes renew the refresh
/// token.
///
/// # Examples
///
/// ```
/// use pinterest_oauth_core::RefreshState;
///
/// let fresh = RefreshState::default();
/// assert_eq!(fresh.not_before(), None);
/// assert_eq!(fresh.stop(), None);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RefreshState {
    pub(crate) not_before: Option<SystemTime>,
    pub(crate) wait: Wait,
    pub(crate) failures: u32,
    pub(crate) renews: Option<bool>,
    pub(crate) stop: Option<Stop>,
    pub(crate) requests: Vec<SystemTime>,
}

impl RefreshState {
    /// No automatic token request before this time.
    pub fn not_before(&self) -> Option<SystemTime> {
        self.not_before
    }
    /// Why [`not_before`](Self::not_before) is set.
    pub fn wait(&self) -> Wait {
        self.wait
    }
    /// Consecutive failed requests since the last success.
    pub fn failures(&self) -> u32 {
        self.failures
    }
    /// Whether a refresh renews the refresh token (moves its expiry later): `None` until a
    /// refresh has been seen.
    pub fn renews(&self) -> Option<bool> {
        self.renews
    }
    /// The stop after a failure no retry can mend, if any.
    pub fn stop(&self) -> Option<&Stop> {
        self.stop.as_ref()
    }
    /// When the most recent token requests were sent (at most the budget's
    /// [`burst`](crate::LifecycleConfig::burst), oldest first).
    pub fn requests(&self) -> &[SystemTime] {
        &self.requests
    }

    /// Notes a request sent at `at`, keeping the latest `keep`.
    pub(crate) fn note_request(&mut self, at: SystemTime, keep: u32) {
        // Whole seconds, rounded up, as the store keeps them: the same request read back is
        // recognised as the same one.
        let at = match at.duration_since(SystemTime::UNIX_EPOCH) {
            Ok(since) if since.subsec_nanos() > 0 => {
                SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(since.as_secs() + 1)
            }
            _ => at,
        };
        self.requests.push(at);
        self.requests.sort_unstable();
        let excess = self.requests.len().saturating_sub(keep as usize);
        self.requests.drain(..excess);
    }

    /// This state with no request after `now` and no deadline past `now + longest` (a second
    /// more for both: stored times are rounded up to whole seconds).
    pub(crate) fn bounded(mut self, now: SystemTime, longest: std::time::Duration) -> RefreshState {
        let second = std::time::Duration::from_secs(1);
        let latest_request = now.checked_add(second).unwrap_or(now);
        let limit = latest_request.checked_add(longest).unwrap_or(now);
        if let Some(at) = self.not_before.as_mut() {
            *at = (*at).min(limit);
        }
        for at in &mut self.requests {
            *at = (*at).min(latest_request);
        }
        self.requests.sort_unstable();
        self
    }

    /// Merges a stored state into this one: the later deadline, the higher failure count, and
    /// whatever either knows of stops and renewals (the stored one first).
    pub(crate) fn merge(&mut self, stored: RefreshState) {
        if stored.not_before > self.not_before {
            self.not_before = stored.not_before;
            self.wait = stored.wait;
        }
        self.failures = self.failures.max(stored.failures);
        self.renews = stored.renews.or(self.renews);
        self.stop = stored.stop.or(self.stop.take());
        // Requests are whole seconds: two processes' requests in the same second are two
        // entries, and the same request read back is the same entry. So for each second, the
        // larger of the two counts (a writer always starts from what it read).
        let mut merged = Vec::with_capacity(self.requests.len().max(stored.requests.len()));
        let mut mine = std::mem::take(&mut self.requests);
        mine.sort_unstable();
        let mut theirs = stored.requests;
        theirs.sort_unstable();
        let (mut i, mut j) = (0, 0);
        while i < mine.len() || j < theirs.len() {
            let at = match (mine.get(i), theirs.get(j)) {
                (Some(a), Some(b)) => *a.min(b),
                (Some(a), None) => *a,
                (None, Some(b)) => *b,
                (None, None) => break,
            };
            let run = |list: &[SystemTime], from: usize| {
                list.get(from..)
                    .map_or(0, |rest| rest.iter().take_while(|t| **t == at).count())
            };
            let (a, b) = (run(&mine, i), run(&theirs, j));
            merged.extend(std::iter::repeat_n(at, a.max(b)));
            i += a;
            j += b;
        }
        self.requests = merged;
    }
}

/// Why automatic requests wait (see [`RefreshState::not_before`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Wait {
    /// The request budget: at most one automatic request per
    /// [`min_refresh_interval`](crate::LifecycleConfig::min_refresh_interval) after a success.
    #[default]
    Budget,
    /// Exponential backoff after a failure.
    Backoff,
    /// Pinterest asked to wait (`Retry-After`, `X-RateLimit-Reset`, 429). Even a refresh the
    /// user forces waits for it.
    RateLimited,
}

impl Wait {
    /// The name stored in the token document.
    pub fn as_str(&self) -> &'static str {
        match self {
            Wait::Budget => "budget",
            Wait::Backoff => "backoff",
            Wait::RateLimited => "rate_limited",
        }
    }

    pub(crate) fn from_name(name: &str) -> Option<Wait> {
        [Wait::Budget, Wait::Backoff, Wait::RateLimited]
            .into_iter()
            .find(|w| w.as_str() == name)
    }
}

impl fmt::Display for Wait {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Wait::Budget => "request budget",
            Wait::Backoff => "backing off after a failure",
            Wait::RateLimited => "rate limited by Pinterest",
        })
    }
}

/// A stop after a failure that retrying cannot mend. Automatic requests cease until the stop
/// is lifted: by a new token set (a login) for [`StopReason::InvalidGrant`], otherwise also by
/// a change of the app's configuration or a refresh the user forces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stop {
    pub(crate) reason: StopReason,
    pub(crate) at: SystemTime,
    pub(crate) status: Option<u16>,
    pub(crate) code: Option<i64>,
    pub(crate) client: Option<u32>,
}

impl Stop {
    /// Why.
    pub fn reason(&self) -> StopReason {
        self.reason
    }
    /// When the failure was seen.
    pub fn at(&self) -> SystemTime {
        self.at
    }
    /// The HTTP status of the answer, when known.
    pub fn status(&self) -> Option<u16> {
        self.status
    }
    /// Pinterest's error code, when known.
    pub fn code(&self) -> Option<i64> {
        self.code
    }

    /// Whether this stop holds for `config`. An invalid grant holds whatever the app's
    /// configuration; any other stop holds only for the configuration (app id, app secret and
    /// API base URL, by [`ClientConfig::fingerprint`](crate::ClientConfig::fingerprint)) it was recorded under, or for every one
    /// when that is unknown (a document written before configurations were recorded).
    ///
    /// A stop recorded under a typo'd app id therefore never stops the right one.
    pub fn applies_to(&self, config: &crate::ClientConfig) -> bool {
        self.applies_to_fingerprint(Some(config.fingerprint()))
    }

    /// [`applies_to`](Self::applies_to) by fingerprint (`None`: the configuration is unknown,
    /// and the stop holds).
    pub(crate) fn applies_to_fingerprint(&self, client: Option<u32>) -> bool {
        match (self.reason, self.client, client) {
            (StopReason::InvalidGrant, _, _) => true,
            (_, Some(recorded), Some(current)) => recorded == current,
            _ => true,
        }
    }
}

impl fmt::Display for Stop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.reason)?;
        match (self.status, self.code) {
            (Some(status), Some(code)) => write!(f, " (http {status}, code {code})"),
            (Some(status), None) => write!(f, " (http {status})"),
            _ => Ok(()),
        }
    }
}

/// What a [`Stop`] was for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StopReason {
    /// The refresh token (or code) is invalid: the user must consent again.
    InvalidGrant,
    /// Pinterest refused the app id or secret (401, code 2).
    InvalidClient,
    /// The app may not do this (403, code 29).
    Forbidden,
    /// The app is blocked for spam.
    Blocked,
    /// Pinterest refused the request as malformed, or the endpoint does not exist (other 4xx,
    /// or a redirect): usually a wrong base URL.
    BadRequest,
}

impl StopReason {
    /// The name stored in the token document.
    pub fn as_str(&self) -> &'static str {
        match self {
            StopReason::InvalidGrant => "invalid_grant",
            StopReason::InvalidClient => "invalid_client",
            StopReason::Forbidden => "forbidden",
            StopReason::Blocked => "blocked",
            StopReason::BadRequest => "bad_request",
        }
    }

    pub(crate) fn from_name(name: &str) -> Option<StopReason> {
        [
            StopReason::InvalidGrant,
            StopReason::InvalidClient,
            StopReason::Forbidden,
            StopReason::Blocked,
            StopReason::BadRequest,
        ]
        .into_iter()
        .find(|r| r.as_str() == name)
    }
}

impl fmt::Display for StopReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StopReason::InvalidGrant => "the grant is invalid; the user must log in again",
            StopReason::InvalidClient => "Pinterest refused the app id or secret",
            StopReason::Forbidden => "Pinterest does not permit this app to do that",
            StopReason::Blocked => "Pinterest blocked the app for spam",
            StopReason::BadRequest => {
                "Pinterest refused the request (check the API base url: Pinterest's ends in /v5, as https://api.pinterest.com/v5)"
            }
        })
    }
}
