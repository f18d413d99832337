//! `Retry-After`: delta-seconds or an HTTP-date.

use std::time::{Duration, SystemTime};

/// A parsed `Retry-After` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RetryAfter {
    /// `Retry-After: <seconds>`.
    Delay(Duration),
    /// `Retry-After: <HTTP-date>`.
    At(SystemTime),
}

impl RetryAfter {
    /// Parses a header value; `None` when it is neither delta-seconds nor an HTTP-date.
    ///
    /// # Examples
    ///
    /// ```
    /// use pinterest_oauth_core::RetryAfter;
    /// use std::time::Duration;
    ///
    /// assert_eq!(RetryAfter::parse("120"), Some(RetryAfter::Delay(Duration::from_secs(120))));
    /// assert!(RetryAfter::parse("Wed, 21 Oct 2015 07:28:00 GMT").is_some());
    /// assert_eq!(RetryAfter::parse("soon"), None);
    /// ```
    pub fn parse(value: &str) -> Option<RetryAfter> {
        let value = value.trim();
        if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
            // Saturate absurd values rather than refuse them.
            let secs = value.parse::<u64>().unwrap_or(u64::MAX);
            return Some(RetryAfter::Delay(Duration::from_secs(secs)));
        }
        httpdate::parse_http_date(value).ok().map(RetryAfter::At)
    }

    /// Parses `X-RateLimit-Reset`: a number of seconds, read as a Unix time when it is larger
    /// than 10⁹ (servers use both conventions), else as a delay. `None` for anything else.
    ///
    /// # Examples
    ///
    /// ```
    /// use pinterest_oauth_core::RetryAfter;
    /// use std::time::{Duration, SystemTime};
    ///
    /// assert_eq!(RetryAfter::parse_reset("60"), Some(RetryAfter::Delay(Duration::from_secs(60))));
    /// assert_eq!(
    ///     RetryAfter::parse_reset("1800000000"),
    ///     Some(RetryAfter::At(SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000)))
    /// );
    /// ```
    pub fn parse_reset(value: &str) -> Option<RetryAfter> {
        let value = value.trim();
        if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let secs = value.parse::<u64>().unwrap_or(u64::MAX);
        Some(if secs > 1_000_000_000 {
            SystemTime::UNIX_EPOCH
                .checked_add(Duration::from_secs(secs))
                .map_or(RetryAfter::Delay(Duration::MAX), RetryAfter::At)
        } else {
            RetryAfter::Delay(Duration::from_secs(secs))
        })
    }

    /// How long to wait from `now`: zero for a date already past.
    pub fn delay_from(&self, now: SystemTime) -> Duration {
        match self {
            RetryAfter::Delay(d) => *d,
            RetryAfter::At(at) => at.duration_since(now).unwrap_or(Duration::ZERO),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_dates_and_saturation() {
        let at = RetryAfter::parse("Thu, 01 Jan 1970 00:01:40 GMT").unwrap();
        assert_eq!(
            at.delay_from(SystemTime::UNIX_EPOCH),
            Duration::from_secs(100)
        );
        assert_eq!(
            at.delay_from(SystemTime::UNIX_EPOCH + Duration::from_secs(500)),
            Duration::ZERO
        );
        assert_eq!(
            RetryAfter::parse("99999999999999999999999"),
            Some(RetryAfter::Delay(Duration::from_secs(u64::MAX)))
        );
        assert_eq!(RetryAfter::parse(""), None);
        assert_eq!(RetryAfter::parse("-5"), None);
    }
}
