//! One-shot calls (`refresh`, `client_credentials`, `revoke`, `exchange_code`): when to send
//! again after a failure, without IO.

use std::time::{Duration, Instant};

use pinterest_oauth_core::RetryAfter;

use crate::{Error, SecretResponse, TransportErrorKind};

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
/// The defaults keep within the token lifecycle's request budget (at most 5 requests in 5
/// minutes): 3 attempts in 30 s. A token source's own refreshes are not retried here: its
/// lifecycle schedules them.
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
pub enum Replay {
    /// Only if no byte can have reached the server (an authorization-code exchange).
    Never,
    /// After any retryable failure (refresh, client credentials, revoke).
    Allowed,
}

/// The retry state of one call: feed each outcome to [`retry_delay`](Self::retry_delay); it
/// says how long to wait before sending again, or `None` to return the outcome.
#[derive(Debug)]
pub struct Call {
    policy: RetryConfig,
    replay: Replay,
    started: Instant,
    attempts: u32,
}

impl Call {
    /// A call about to send its first request.
    pub fn new(policy: RetryConfig, replay: Replay) -> Call {
        Call {
            policy,
            replay,
            started: Instant::now(),
            attempts: 0,
        }
    }

    /// After an attempt: how long to wait before the next one, or `None` to stop (success,
    /// a failure not worth retrying, or the budget spent). `entropy` draws the jitter.
    pub fn retry_delay(
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
                429 | 502 | 503 | 504 if self.replay == Replay::Allowed => response
                    .headers()
                    .get(pinterest_oauth_core::http::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(RetryAfter::parse)
                    .map(|r| r.delay_from(std::time::SystemTime::now())),
                _ => return None,
            },
            Err(Error::Transport(e)) if e.kind() == TransportErrorKind::Connect => None,
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
        (self.started.elapsed().saturating_add(delay) < self.policy.deadline).then_some(delay)
    }
}
