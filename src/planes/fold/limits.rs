//! The per-organization rate limit of dispatch (PLATFORM.md §7: default 100 requests per
//! minute, `[fold] rate_limit_per_minute`): a fixed one-minute window on the emulator's clock,
//! so a test moves the clock instead of waiting. Every dispatch answer carries
//! `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset` (seconds to the window's end).

use std::collections::HashMap;
use std::sync::Mutex;

use axum::http::{HeaderMap, HeaderValue};

const WINDOW_SECS: i64 = 60;

#[derive(Default)]
pub(crate) struct RateLimits {
    /// Organization id → (window start, requests counted in it).
    windows: Mutex<HashMap<String, (i64, u64)>>,
}

/// What the limiter decided for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Verdict {
    pub allowed: bool,
    pub limit: u64,
    pub remaining: u64,
    pub reset_secs: i64,
}

impl RateLimits {
    /// Counts a request of `org` at `now_secs` (Unix seconds on the emulator's clock).
    pub(crate) fn check(&self, org: &str, now_secs: i64, limit: u64) -> Verdict {
        let start = now_secs - now_secs.rem_euclid(WINDOW_SECS);
        let mut windows = self.windows.lock().unwrap();
        let entry = windows.entry(org.to_string()).or_insert((start, 0));
        if entry.0 != start {
            *entry = (start, 0);
        }
        let allowed = entry.1 < limit;
        if allowed {
            entry.1 += 1;
        }
        Verdict {
            allowed,
            limit,
            remaining: limit.saturating_sub(entry.1),
            reset_secs: start + WINDOW_SECS - now_secs,
        }
    }
}

impl Verdict {
    pub(crate) fn write(&self, headers: &mut HeaderMap) {
        headers.insert("ratelimit-limit", HeaderValue::from(self.limit));
        headers.insert("ratelimit-remaining", HeaderValue::from(self.remaining));
        headers.insert("ratelimit-reset", HeaderValue::from(self.reset_secs));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_counts_down_and_resets_on_the_minute() {
        let l = RateLimits::default();
        let first = l.check("o", 120, 2);
        assert_eq!(
            first,
            Verdict {
                allowed: true,
                limit: 2,
                remaining: 1,
                reset_secs: 60
            }
        );
        assert!(l.check("o", 150, 2).allowed);
        let third = l.check("o", 179, 2);
        assert_eq!(
            (third.allowed, third.remaining, third.reset_secs),
            (false, 0, 1)
        );
        assert!(l.check("other", 179, 2).allowed, "per organization");
        assert!(l.check("o", 180, 2).allowed, "a new window");
    }
}
