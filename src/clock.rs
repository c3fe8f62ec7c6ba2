//! The emulator's one clock. Everything time-based (key expiry, activation timestamps, and the
//! control planes' token expiry, lockouts, rate-limit windows and monthly caps) reads it, so a
//! test moves it instead of waiting (PLATFORM.md §7).
//!
//! The test clock is an offset from the real one: after `set` or `advance` time keeps running
//! from the new instant, as it does on a real machine. Each emulator has its own clock, so two
//! emulators embedded in one test binary never move each other's time.

use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};

#[derive(Debug, Default)]
pub struct Clock {
    offset: Mutex<chrono::Duration>,
}

impl Clock {
    pub fn now(&self) -> DateTime<Utc> {
        Utc::now() + *self.offset.lock().unwrap()
    }

    /// `now` as the platform writes timestamps: RFC 3339 in UTC with milliseconds.
    pub fn rfc3339(&self) -> String {
        self.now().to_rfc3339_opts(SecondsFormat::Millis, true)
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        let by = chrono::Duration::from_std(by).unwrap_or(chrono::Duration::MAX);
        let mut offset = self.offset.lock().unwrap();
        *offset = offset.checked_add(&by).unwrap_or(*offset);
    }

    /// Makes `now` read `at` (time runs on from there).
    pub fn set(&self, at: DateTime<Utc>) {
        *self.offset.lock().unwrap() = at - Utc::now();
    }

    /// Back to the machine's time.
    pub fn real(&self) {
        *self.offset.lock().unwrap() = chrono::Duration::zero();
    }

    /// Whether a test has moved the clock.
    pub fn is_moved(&self) -> bool {
        !self.offset.lock().unwrap().is_zero()
    }
}

/// A date (`YYYY-MM-DD`, midnight UTC) or an RFC 3339 timestamp.
pub fn parse_instant(s: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s.trim()) {
        return Some(t.with_timezone(&Utc));
    }
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| d.and_utc())
}

/// A key's expiry: `YYYY-MM-DD` (valid through the end of that day, UTC) or an RFC 3339
/// timestamp.
pub fn parse_expiry(s: &str) -> Option<DateTime<Utc>> {
    if let Ok(d) = NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d") {
        return d.succ_opt()?.and_hms_opt(0, 0, 0).map(|t| t.and_utc());
    }
    DateTime::parse_from_rfc3339(s.trim())
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

/// A span such as `15m`, `90s`, `2h`, `1d`, `500ms`, or several joined (`1h30m`).
pub fn parse_span(s: &str) -> Result<Duration, String> {
    let bad = || {
        format!("{s:?} is not a span of time\n  hint: write a number and a unit, e.g. 90s, 15m, 2h, 1d or 1h30m")
    };
    let text = s.trim();
    if text.is_empty() {
        return Err(bad());
    }
    let mut total = Duration::ZERO;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(bad());
        }
        let n: u64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let unit_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let part = match unit {
            "ms" => Duration::from_millis(n),
            "s" => Duration::from_secs(n),
            "m" => Duration::from_secs(n.saturating_mul(60)),
            "h" => Duration::from_secs(n.saturating_mul(3600)),
            "d" => Duration::from_secs(n.saturating_mul(86_400)),
            _ => return Err(bad()),
        };
        total = total.saturating_add(part);
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans() {
        assert_eq!(parse_span("15m"), Ok(Duration::from_secs(900)));
        assert_eq!(parse_span("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_span("500ms"), Ok(Duration::from_millis(500)));
        assert!(parse_span("15").is_err());
        assert!(parse_span("m").is_err());
        assert!(parse_span("3 weeks").is_err());
    }

    #[test]
    fn moves() {
        let c = Clock::default();
        let before = c.now();
        c.advance(Duration::from_secs(3600));
        assert!(c.now() - before >= chrono::Duration::seconds(3600));
        c.set(parse_instant("2027-01-01").unwrap());
        assert_eq!(c.now().format("%Y-%m-%d").to_string(), "2027-01-01");
        c.real();
        assert!(!c.is_moved());
    }
}
