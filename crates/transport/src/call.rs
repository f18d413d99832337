//! How one-shot calls (`refresh`, `client_credentials`, `revoke`, `exchange_code`) retry, and
//! the request budget they share.

use std::collections::VecDeque;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use pinterest_oauth_core::LifecycleConfig;

/// How a one-shot call retries.
///
/// Retried: a failed connect (no byte left), and 502, 503, 504 and 429 answers, with
/// exponential backoff and full jitter, honouring `Retry-After` up to `max_retry_after`, for at
/// most `max_attempts` requests within `deadline`. Nothing else is retried: a timeout or a
/// connection lost after the request left may have reached Pinterest, and a refusal will not
/// change.
///
/// An authorization-code exchange is sent again only when no byte of it can have reached the
/// server (a failed connect): Pinterest may revoke the tokens issued for a code presented
/// twice.
///
/// Retries also draw on the client's [`RequestBudget`], the token lifecycle's ceiling (at
/// most 5 requests in any 5 minutes by default), shared by every call of a client and its
/// clones and by the refreshes of token sources built on it: no sequence of failures makes a
/// client send more automatic requests than that. The defaults: 3 attempts within 30 s. A
/// token source's own refreshes are not retried here: its lifecycle schedules them.
///
/// # Examples
///
/// ```
/// # use pinterest_oauth_transport::prelude as pinterest_oauth_ureq;
/// use pinterest_oauth_ureq::RetryConfig;
/// use std::time::Duration;
///
/// let none = RetryConfig::none();
/// assert_eq!(none.max_attempts(), 1);
/// let patient = RetryConfig::default().with_max_attempts(4).with_deadline(Duration::from_secs(60));
/// assert_eq!(patient.max_attempts(), 4);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryConfig {
    pub(crate) max_attempts: u32,
    pub(crate) deadline: Duration,
    pub(crate) base: Duration,
    pub(crate) max_delay: Duration,
    pub(crate) max_retry_after: Duration,
}

impl Default for RetryConfig {
    fn default() -> Self {
        RetryConfig {
            max_attempts: 3,
            deadline: Duration::from_secs(30),
            base: Duration::from_millis(500),
            max_delay: Duration::from_secs(8),
            max_retry_after: Duration::from_secs(20),
        }
    }
}

impl RetryConfig {
    /// Never retry.
    pub fn none() -> RetryConfig {
        RetryConfig {
            max_attempts: 1,
            ..RetryConfig::default()
        }
    }

    /// At most this many requests per call (at least 1; at most 5, the lifecycle's burst).
    #[must_use]
    pub fn with_max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.clamp(1, 5);
        self
    }

    /// No retry starts after this long from the first request.
    #[must_use]
    pub fn with_deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline;
        self
    }

    /// The first retry's backoff ceiling (doubling per attempt, capped at `max`; each delay is
    /// drawn between zero and the ceiling: "full jitter").
    #[must_use]
    pub fn with_backoff(mut self, base: Duration, max: Duration) -> Self {
        self.base = base;
        self.max_delay = max.max(base);
        self
    }

    /// The longest `Retry-After` honoured; a longer one ends the call with the error.
    #[must_use]
    pub fn with_max_retry_after(mut self, max: Duration) -> Self {
        self.max_retry_after = max;
        self
    }

    /// The most requests per call.
    pub fn max_attempts(&self) -> u32 {
        self.max_attempts
    }
}

/// The request budget a client's calls share: the token lifecycle's ceiling, at most `burst`
/// requests in any `window` (default: [`LifecycleConfig::default`], 5 in 5 minutes).
///
/// A first attempt always goes (the caller asked for it) and is counted; a retry goes only
/// while fewer than `burst` requests went out in the last `window`. Clones of a client share
/// one budget; [`Client::with_budget`](crate::blocking::Client::with_budget) shares one across
/// clients.
///
/// # Examples
///
/// ```
/// use pinterest_oauth_transport::RequestBudget;
/// use std::time::{Duration, Instant};
///
/// let budget = RequestBudget::new(2, Duration::from_secs(60));
/// let now = Instant::now();
/// budget.record(now);
/// assert!(budget.try_spend(now), "a second request fits");
/// assert!(!budget.try_spend(now), "a third does not, within the minute");
/// assert!(budget.try_spend(now + Duration::from_secs(60)));
/// ```
#[derive(Debug)]
pub struct RequestBudget {
    burst: usize,
    window: Duration,
    sent: Mutex<VecDeque<Instant>>,
}

impl Default for RequestBudget {
    fn default() -> Self {
        RequestBudget::from_lifecycle(&LifecycleConfig::default())
    }
}

impl RequestBudget {
    /// At most `burst` (at least 1) requests in any `window`.
    pub fn new(burst: u32, window: Duration) -> RequestBudget {
        let burst = burst.max(1) as usize;
        RequestBudget {
            burst,
            window,
            sent: Mutex::new(VecDeque::with_capacity(burst + 1)),
        }
    }

    /// The ceiling of a token lifecycle with `config`.
    pub fn from_lifecycle(config: &LifecycleConfig) -> RequestBudget {
        RequestBudget::new(config.burst(), config.budget_window())
    }

    /// Counts a request the caller asked for (it goes whatever the budget says).
    pub fn record(&self, now: Instant) {
        let mut sent = self.sent(now);
        sent.push_back(now);
        while sent.len() > self.burst {
            sent.pop_front();
        }
    }

    /// Counts an automatic request if the budget has room; `false` (nothing counted) if not.
    pub fn try_spend(&self, now: Instant) -> bool {
        let mut sent = self.sent(now);
        if sent.len() >= self.burst {
            return false;
        }
        sent.push_back(now);
        true
    }

    /// Requests counted in the window ending at `now`.
    pub fn in_window(&self, now: Instant) -> usize {
        self.sent(now).len()
    }

    /// The record, without requests older than the window.
    fn sent(&self, now: Instant) -> std::sync::MutexGuard<'_, VecDeque<Instant>> {
        let mut sent = self.sent.lock().unwrap_or_else(PoisonError::into_inner);
        while sent
            .front()
            .is_some_and(|at| now.saturating_duration_since(*at) >= self.window)
        {
            sent.pop_front();
        }
        sent
    }
}
