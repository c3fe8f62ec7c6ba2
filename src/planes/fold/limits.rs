//! The per-organization rate limit of dispatch (PLATFORM.md §7: default 100 requests per
//! minute, `[fold] rate_limit_per_minute`): a fixed one-minute window on the emulator's clock,
//! so a test moves the clock instead of waiting. Every dispatch answer carries
//! `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset` (seconds to the window's end).
//! The windows live beside the store, so path and host dispatch and the plane's own port all
//! count against one limit.

use axum::http::{HeaderMap, HeaderValue};

use crate::domain::app::App;

const WINDOW_SECS: i64 = 60;

/// What the limiter decided for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Verdict {
    pub allowed: bool,
    pub limit: u64,
    pub remaining: u64,
    pub reset_secs: i64,
}

/// Counts a dispatch of organization `org_id` now.
pub(crate) fn check(app: &App, org_id: &str) -> Verdict {
    let now = app.clock.now().timestamp();
    let limit = app.config.fold.rate_limit_per_minute;
    verdict(
        app.store.windows.count(
            &format!("fold-dispatch\u{1f}{org_id}"),
            now,
            WINDOW_SECS,
            limit,
        ),
        now,
        limit,
    )
}

fn verdict(c: crate::store::windows::Counted, now: i64, limit: u64) -> Verdict {
    Verdict {
        allowed: c.allowed,
        limit,
        remaining: limit.saturating_sub(c.count),
        reset_secs: c.window_start + WINDOW_SECS - now,
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
    use crate::store::windows::FixedWindows;

    fn at(w: &FixedWindows, key: &str, now: i64, limit: u64) -> Verdict {
        verdict(w.count(key, now, WINDOW_SECS, limit), now, limit)
    }

    #[test]
    fn a_window_counts_down_and_resets_on_the_minute() {
        let w = FixedWindows::default();
        let first = at(&w, "o", 120, 2);
        assert_eq!(
            first,
            Verdict {
                allowed: true,
                limit: 2,
                remaining: 1,
                reset_secs: 60
            }
        );
        assert!(at(&w, "o", 150, 2).allowed);
        let third = at(&w, "o", 179, 2);
        assert_eq!(
            (third.allowed, third.remaining, third.reset_secs),
            (false, 0, 1)
        );
        assert!(at(&w, "other", 179, 2).allowed, "per organization");
        assert!(at(&w, "o", 180, 2).allowed, "a new window");
    }
}
