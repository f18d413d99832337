//! Wall-clock times as people and logs read them.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::document::MAX_UNIX_SECONDS;

/// `time` as RFC 3339 in UTC, to the second (`2026-12-04T09:30:00Z`), for messages and logs.
/// Never panics: a time before 1970 or after 9999 (the latest a token document stores) is
/// shown as such.
///
/// # Examples
///
/// ```
/// use pinterest_oauth_core::rfc3339;
/// use std::time::{Duration, SystemTime};
///
/// let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
/// assert_eq!(rfc3339(at).to_string(), "2027-01-15T08:00:00Z");
/// assert_eq!(rfc3339(SystemTime::UNIX_EPOCH - Duration::from_secs(1)).to_string(), "before 1970-01-01T00:00:00Z");
/// ```
pub fn rfc3339(time: SystemTime) -> Rfc3339 {
    Rfc3339(time)
}

/// A time shown as RFC 3339 (see [`rfc3339`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rfc3339(SystemTime);

impl fmt::Display for Rfc3339 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = match self.0.duration_since(UNIX_EPOCH) {
            Err(_) => return f.write_str("before 1970-01-01T00:00:00Z"),
            Ok(since) if since.as_secs() > MAX_UNIX_SECONDS => {
                return f.write_str("after 9999-12-31T23:59:59Z");
            }
            Ok(since) => since.as_secs(),
        };
        let (days, rest) = (secs / 86_400, secs % 86_400);
        let (year, month, day) = civil_from_days(days);
        write!(
            f,
            "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
            rest / 3600,
            rest % 3600 / 60,
            rest % 60
        )
    }
}

/// The proleptic Gregorian date `days` after 1970-01-01 (Howard Hinnant's `civil_from_days`,
/// for days ≥ 0).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// The same text as an established implementation, every second up to year 9999.
        #[test]
        fn every_representable_second_is_shown_as_humantime_shows_it(secs in 0..=MAX_UNIX_SECONDS) {
            let at = UNIX_EPOCH + Duration::from_secs(secs);
            prop_assert_eq!(
                rfc3339(at).to_string(),
                humantime::format_rfc3339_seconds(at).to_string()
            );
        }
    }

    #[test]
    fn the_edges() {
        for (secs, text) in [
            (0, "1970-01-01T00:00:00Z"),
            (951_782_400, "2000-02-29T00:00:00Z"),
            (MAX_UNIX_SECONDS, "9999-12-31T23:59:59Z"),
            (MAX_UNIX_SECONDS + 1, "after 9999-12-31T23:59:59Z"),
        ] {
            assert_eq!(
                rfc3339(UNIX_EPOCH + Duration::from_secs(secs)).to_string(),
                text
            );
        }
    }
}
