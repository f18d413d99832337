//! The retry state of one one-shot call, without IO: the client's loop feeds it each outcome
//! and sleeps as long as it says.

use std::sync::Arc;
use std::time::{Duration, Instant};

use pinterest_oauth_core::RetryAfter;

use crate::call::{RequestBudget, RetryConfig};
use crate::{SecretResponse, TransportError};

/// Whether a request may be sent twice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Replay {
    /// Only if no byte can have reached the server (an authorization-code exchange).
    Never,
    /// After any retryable failure (refresh, client credentials, revoke).
    Allowed,
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
        outcome: &Result<SecretResponse, TransportError>,
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
            Err(e) if !e.may_have_reached_server() => None,
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
