//! Fixed-window counters kept in memory beside the store (the fold plane's per-organization
//! rate limit), so that every mount of a plane (the main port and its own port) counts against
//! the same window. Not persisted: a restart starts every window afresh, as a restart of a
//! rate limiter would.

use std::collections::HashMap;
use std::sync::Mutex;

#[derive(Debug, Default)]
pub struct FixedWindows {
    /// Key → (window start, requests counted in it).
    windows: Mutex<HashMap<String, (i64, u64)>>,
}

/// The state of one key's window after a request was counted (or refused).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counted {
    pub allowed: bool,
    pub count: u64,
    pub window_start: i64,
}

impl FixedWindows {
    /// Counts a request of `key` at `now_secs` in windows of `window_secs`, unless `limit`
    /// requests were already counted in the current window.
    pub fn count(&self, key: &str, now_secs: i64, window_secs: i64, limit: u64) -> Counted {
        let start = now_secs - now_secs.rem_euclid(window_secs);
        let mut windows = self.windows.lock().unwrap();
        let entry = windows.entry(key.to_string()).or_insert((start, 0));
        if entry.0 != start {
            *entry = (start, 0);
        }
        let allowed = entry.1 < limit;
        if allowed {
            entry.1 += 1;
        }
        Counted {
            allowed,
            count: entry.1,
            window_start: start,
        }
    }
}
