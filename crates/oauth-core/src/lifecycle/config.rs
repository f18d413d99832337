//! Tuning of the lifecycle: margins and backoff.

use std::time::Duration;

/// Tuning of a [`TokenLifecycle`](super::TokenLifecycle).
///
/// # Examples
///
/// ```
/// # use pinterest_oauth_core as pinterest_oauth_ureq;
/// use pinterest_oauth_ureq::LifecycleConfig;
/// use std::time::Duration;
///
/// let config = LifecycleConfig::default().with_refresh_margin(Duration::from_secs(300));
/// assert_eq!(config.refresh_margin(), Duration::from_secs(300));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LifecycleConfig {
    refresh_margin: Duration,
    rotation_margin: Duration,
    min_refresh_interval: Duration,
    burst: u32,
    backoff_base: Duration,
    backoff_max: Duration,
    max_retry_after: Duration,
    renewal_interval: Duration,
    attempt_deadline: Duration,
}

impl Default for LifecycleConfig {
    fn default() -> Self {
        LifecycleConfig {
            refresh_margin: Duration::from_secs(10 * 60),
            rotation_margin: Duration::from_secs(7 * 24 * 3600),
            min_refresh_interval: Duration::from_secs(60),
            burst: 5,
            backoff_base: Duration::from_secs(1),
            backoff_max: Duration::from_secs(5 * 60),
            max_retry_after: Duration::from_secs(24 * 3600),
            renewal_interval: Duration::from_secs(6 * 3600),
            attempt_deadline: Duration::from_secs(60),
        }
    }
}

impl LifecycleConfig {
    /// Refresh this long before the access token expires (default 10 minutes; never more than
    /// half the token's lifetime, so a short-lived token is still used).
    #[must_use]
    pub fn with_refresh_margin(mut self, margin: Duration) -> Self {
        self.refresh_margin = margin;
        self
    }

    /// Refresh this long before the refresh token itself expires, so an idle app's continuous
    /// refresh token is rotated before it lapses (default 7 days; never more than half its
    /// lifetime).
    #[must_use]
    pub fn with_rotation_margin(mut self, margin: Duration) -> Self {
        self.rotation_margin = margin;
        self
    }

    /// A refresh made only to renew the refresh token (see
    /// [`with_rotation_margin`](Self::with_rotation_margin)) comes at most this often (default
    /// 6 hours; at most half the refresh token's lifetime, when that is known). Whatever a
    /// server says of the refresh token's expiry (a time already past, a clock far ahead), it
    /// is never chased more often.
    #[must_use]
    pub fn with_renewal_interval(mut self, interval: Duration) -> Self {
        self.renewal_interval = interval;
        self
    }

    /// The request budget: after a success, no automatic token request for this long
    /// (default 60 s), whatever the new token's lifetime. A server answering with tokens that
    /// expire at once then costs one request a minute, not a storm.
    #[must_use]
    pub fn with_min_refresh_interval(mut self, interval: Duration) -> Self {
        self.min_refresh_interval = interval;
        self
    }

    /// The request budget's ceiling: never more than `burst` token requests (automatic or
    /// forced) in any window of `burst × min_refresh_interval` (default 5 in 5 minutes), so no
    /// mix of answers, failures and callers averages more than one request per interval.
    /// At least 1.
    #[must_use]
    pub fn with_burst(mut self, burst: u32) -> Self {
        self.burst = burst.max(1);
        self
    }

    /// The first backoff after a failure (default 1 s); it doubles per failure, with jitter.
    #[must_use]
    pub fn with_backoff_base(mut self, base: Duration) -> Self {
        self.backoff_base = base;
        self
    }

    /// The longest backoff (default 5 minutes).
    #[must_use]
    pub fn with_backoff_max(mut self, max: Duration) -> Self {
        self.backoff_max = max;
        self
    }

    /// The longest `Retry-After` honoured (default a day: a day-long limit is not retried hourly).
    #[must_use]
    pub fn with_max_retry_after(mut self, max: Duration) -> Self {
        self.max_retry_after = max;
        self
    }

    /// The longest a token request and the save of its answer can take (default 60 s: the
    /// default HTTP timeout of 30 s, and as long again for the store). The record of an attempt
    /// tells every process sharing the grant to send nothing for this long, so that a lock
    /// lost while the request is in flight (a Redis lease evicted, deleted or lost in a
    /// failover) cannot let a second process spend the same refresh token. Set it to at least
    /// your HTTP timeout plus your store's.
    #[must_use]
    pub fn with_attempt_deadline(mut self, deadline: Duration) -> Self {
        self.attempt_deadline = deadline;
        self
    }

    /// The longest a token request and the save of its answer can take.
    pub fn attempt_deadline(&self) -> Duration {
        self.attempt_deadline
    }

    /// The least time between two refreshes made only to renew the refresh token.
    pub fn renewal_interval(&self) -> Duration {
        self.renewal_interval
    }

    /// The refresh margin.
    pub fn refresh_margin(&self) -> Duration {
        self.refresh_margin
    }

    /// The rotation margin.
    pub fn rotation_margin(&self) -> Duration {
        self.rotation_margin
    }

    /// The request budget's interval.
    pub fn min_refresh_interval(&self) -> Duration {
        self.min_refresh_interval
    }

    /// The request budget's ceiling (see [`with_burst`](Self::with_burst)).
    pub fn burst(&self) -> u32 {
        self.burst
    }

    /// The window of the budget's ceiling: `burst × min_refresh_interval`.
    pub fn budget_window(&self) -> Duration {
        self.min_refresh_interval.saturating_mul(self.burst)
    }

    /// The longest backoff.
    pub fn backoff_max(&self) -> Duration {
        self.backoff_max
    }

    /// The longest `Retry-After` honoured.
    pub fn max_retry_after(&self) -> Duration {
        self.max_retry_after
    }

    /// The backoff after `failures` consecutive failures (1 or more), before `Retry-After`:
    /// `base · 2^(failures−1)` capped at the maximum, half of it fixed and half drawn from
    /// `entropy` ("equal jitter").
    pub fn backoff(&self, failures: u32, entropy: u64) -> Duration {
        let doublings = failures.saturating_sub(1).min(30);
        let full = self
            .backoff_base
            .saturating_mul(1u32 << doublings)
            .min(self.backoff_max);
        let half = full / 2;
        let spread = u64::try_from(half.as_nanos()).unwrap_or(u64::MAX);
        let jitter = match spread.checked_add(1) {
            Some(modulus) => entropy % modulus,
            None => entropy,
        };
        half.saturating_add(Duration::from_nanos(jitter))
    }
}
