//! One-shot calls (`refresh`, `client_credentials`, `revoke`, `exchange_code`): when to send
//! again after a failure, without IO.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use pinterest_oauth_core::{LifecycleConfig, RetryAfter};

use crate::{Error, SecretResponse};

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
/// use pinterest_oauth_transport::RetryConfig;
/// use std::time::Duration;
///
/// let none = RetryConfig::none();
/// assert_eq!(none.max_attempts(), 1);
/// let patient = RetryConfig::default().with_max_attempts(4).with_deadline(Duration::from_secs(60));
/// assert_eq!(patient.max_attempts(), 4);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryConfig {
    max_attempts: u32,
    deadline: Duration,
    base: Duration,
    max_delay: Duration,
    max_retry_after: Duration,
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

/// Whether a request may be sent twice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Replay {
    /// Only if no byte can have reached the server (an authorization-code exchange).
    Never,
    /// After any retryable failure (refresh, client credentials, revoke).
    Allowed,
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

/// The retry state of one call: feed each outcome to [`retry_delay`](Self::retry_delay); it
/// says how long to wait before sending again, or `None` to return the outcome.
#[derive(Debug)]
pub(crate) struct Call {
    policy: RetryConfig,
    replay: Replay,
    budget: Arc<RequestBudget>,
    started: Instant,
    attempts: u32,
}

impl Call {
    /// A call about to send its first request (counted in `budget`).
    pub(crate) fn new(policy: RetryConfig, replay: Replay, budget: Arc<RequestBudget>) -> Call {
        let started = Instant::now();
        budget.record(started);
        Call {
            policy,
            replay,
            budget,
            started,
            attempts: 0,
        }
    }

    /// After an attempt: how long to wait before the next one, or `None` to stop (success,
    /// a failure not worth retrying, a request that may have reached the server and must not
    /// be replayed, or the attempts, deadline or budget spent). `entropy` draws the jitter. A
    /// retry it allows is counted in the budget at once.
    pub(crate) fn retry_delay(
        &mut self,
        outcome: &Result<SecretResponse, Error>,
        entropy: u64,
    ) -> Option<Duration> {
        self.attempts = self.attempts.saturating_add(1);
        if self.attempts >= self.policy.max_attempts {
            return None;
        }
        let asked = match outcome {
            Ok(response) => match response.status().as_u16() {
                429 | 502 | 503 | 504 if self.replay == Replay::Allowed => {
                    // What Pinterest asked for, either way it says it: the later wins.
                    let header =
                        |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok());
                    let now = std::time::SystemTime::now();
                    [
                        header(pinterest_oauth_core::http::header::RETRY_AFTER.as_str())
                            .and_then(RetryAfter::parse),
                        header(pinterest_oauth_core::RATE_LIMIT_RESET_HEADER)
                            .and_then(RetryAfter::parse_reset),
                    ]
                    .into_iter()
                    .flatten()
                    .map(|r| r.delay_from(now))
                    .max()
                }
                _ => return None,
            },
            Err(Error::Transport(e)) if !e.may_have_reached_server() => None,
            Err(_) => return None,
        };
        if asked.is_some_and(|asked| asked > self.policy.max_retry_after) {
            return None;
        }
        let ceiling = self
            .policy
            .base
            .saturating_mul(1 << (self.attempts - 1).min(16))
            .min(self.policy.max_delay);
        let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
        let jitter = Duration::from_nanos(entropy % nanos.saturating_add(1));
        let delay = asked.map_or(jitter, |asked| asked.max(jitter));
        let elapsed = self.started.elapsed();
        if elapsed.saturating_add(delay) >= self.policy.deadline {
            return None;
        }
        self.budget
            .try_spend(Instant::now() + delay)
            .then_some(delay)
    }
}
