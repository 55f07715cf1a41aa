//! The store's clock and the two time formats it writes: RFC 3339 UTC with milliseconds for store
//! columns (`2026-05-29T12:00:00.123Z`), and to the second for `captured_at` (receipts.md §2.1).

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Where the store reads the time from: the system clock, or a fixed function in tests and tools
/// that replay a recorded time.
#[derive(Clone)]
pub struct Clock(Arc<dyn Fn() -> SystemTime + Send + Sync>);

impl Clock {
    /// The system clock.
    pub fn system() -> Self {
        Self(Arc::new(SystemTime::now))
    }

    /// A clock that reads `now`.
    pub fn from_fn(now: impl Fn() -> SystemTime + Send + Sync + 'static) -> Self {
        Self(Arc::new(now))
    }

    /// The time now.
    pub fn now(&self) -> Instant {
        Instant((self.0)())
    }
}

impl Default for Clock {
    fn default() -> Self {
        Self::system()
    }
}

impl fmt::Debug for Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Clock")
    }
}

/// One reading of the clock, formatted as the store needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Instant(SystemTime);

impl Instant {
    /// The reading.
    pub fn time(self) -> SystemTime {
        self.0
    }

    /// The reading `minutes` later (an approval deadline, storage.md §10.2). Deadlines are capped
    /// at 100 years so every stored time keeps its four-digit year and compares as text.
    #[must_use]
    pub fn after_minutes(self, minutes: u32) -> Self {
        const MAX_MINUTES: u64 = 100 * 366 * 24 * 60;
        let minutes = u64::from(minutes).min(MAX_MINUTES);
        Self(
            self.0
                .checked_add(Duration::from_secs(minutes * 60))
                .unwrap_or(self.0),
        )
    }

    /// RFC 3339 UTC with milliseconds, the format of every store time column.
    pub fn store_time(self) -> String {
        let (seconds, millis) = unix(self.0);
        format!("{}.{millis:03}Z", civil(seconds))
    }

    /// RFC 3339 UTC to the second, the format of `captured_at`.
    pub fn captured_at(self) -> String {
        format!("{}Z", civil(unix(self.0).0))
    }
}

/// Seconds and milliseconds since the Unix epoch; times before it read as the epoch (a clock that
/// far off is a broken clock, and the store never refuses to record because of it).
fn unix(time: SystemTime) -> (u64, u32) {
    let since = time.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO);
    (since.as_secs(), since.subsec_millis())
}

/// `YYYY-MM-DDTHH:MM:SS` of a Unix time, by the civil-from-days algorithm.
fn civil(unix_seconds: u64) -> String {
    let (days, seconds) = (unix_seconds / 86_400, unix_seconds % 86_400);
    let shifted = days + 719_468;
    let era = shifted / 146_097;
    let day_of_era = shifted - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}",
        seconds / 3_600,
        seconds % 3_600 / 60,
        seconds % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_match_the_spec_examples() {
        // 2026-05-29T12:00:00.123Z
        let at = UNIX_EPOCH + Duration::from_millis(1_780_056_000_123);
        let instant = Clock::from_fn(move || at).now();
        assert_eq!(instant.store_time(), "2026-05-29T12:00:00.123Z");
        assert_eq!(instant.captured_at(), "2026-05-29T12:00:00Z");
    }

    #[test]
    fn leap_days_and_year_ends_roll_over() {
        let at = |secs| Instant(UNIX_EPOCH + Duration::from_secs(secs)).captured_at();
        assert_eq!(at(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(at(1_767_225_599), "2025-12-31T23:59:59Z");
        assert_eq!(at(0), "1970-01-01T00:00:00Z");
    }
}
