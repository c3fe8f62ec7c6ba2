//! Login lockout and the login rate limit, both on the emulator's test clock.
//!
//! Lockout (PLATFORM.md §7): five failed logins within 15 minutes lock the account for 15
//! minutes from the last of them. Failures are kept in the store (a restart does not forgive
//! them); the rule is here.
//!
//! Rate limit (**choice**: 10 login attempts per minute per email address, a burst of 10 and one
//! more every 6 seconds): governor's GCRA limiter, driven by a `governor::clock::Clock` over the
//! emulator's clock, so `POST /_emulator/v1/clock {"advance": "6s"}` frees the next attempt.
//! The limiter lives in memory (a flood is forgotten by a restart, as by a real server's).

use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};
use governor::clock::Clock as GovernorClock;
use governor::middleware::NoOpMiddleware;
use governor::state::keyed::HashMapStateStore;
use governor::{Quota, RateLimiter};

use crate::clock::Clock;

/// Failures that lock an account.
pub(crate) const LOCK_AFTER_FAILURES: u32 = 5;
/// The window they must fall in, and how long the lock lasts.
pub(crate) const LOCK_WINDOW: chrono::Duration = chrono::Duration::minutes(15);
pub(crate) const LOCK_FOR: chrono::Duration = chrono::Duration::minutes(15);

/// Login attempts one email may make in a burst (then one per `60 / LOGINS_PER_MINUTE` s).
pub(crate) const LOGINS_PER_MINUTE: u32 = 10;

/// Whether a lock recorded on a user is still in force at `now`.
pub(crate) fn is_locked(locked_until: Option<&str>, now: DateTime<Utc>) -> bool {
    locked_until
        .and_then(crate::clock::parse_instant)
        .is_some_and(|until| until > now)
}

/// The emulator's clock as governor's time source: instants are the time since the Unix epoch
/// on the test clock.
#[derive(Clone)]
struct TestClock(Arc<Clock>);

impl GovernorClock for TestClock {
    type Instant = Duration;

    fn now(&self) -> Duration {
        (self.0.now() - DateTime::<Utc>::UNIX_EPOCH)
            .to_std()
            .unwrap_or_default()
    }
}

type Limiter = RateLimiter<String, HashMapStateStore<String>, TestClock, NoOpMiddleware<Duration>>;

/// A limiter and the latest instant it was asked at.
struct Generation {
    limiter: Arc<Limiter>,
    last: Duration,
}

/// **why a new limiter when the clock goes back**: GCRA keeps, per key, the time the next
/// attempt conforms. A test that moved the clock forward, flooded, and then set the clock back
/// (`{"real": true}`, or a reset) would otherwise be refused until real time caught up with
/// the moved clock. Moving time backwards is a test's doing, so forgetting the flood then is
/// what the test means. A second of slack keeps concurrent requests (which read the clock in
/// no particular order) from resetting it.
#[derive(Default)]
pub(crate) struct LoginLimiter {
    current: Mutex<Option<Generation>>,
}

impl LoginLimiter {
    /// Counts one login attempt for `email` at the clock's now: `Err(seconds)` until the next
    /// attempt may be made.
    pub(crate) fn attempt(&self, clock: &Arc<Clock>, email: &str) -> Result<(), u64> {
        let source = TestClock(clock.clone());
        let now = source.now();
        let limiter = {
            let mut current = self.current.lock().unwrap_or_else(PoisonError::into_inner);
            let stale = current
                .as_ref()
                .is_none_or(|g| now + Duration::from_secs(1) < g.last);
            if stale {
                *current = None;
            }
            let generation = current.get_or_insert_with(|| Generation {
                limiter: Arc::new(RateLimiter::hashmap_with_clock(quota(), source.clone())),
                last: now,
            });
            generation.last = generation.last.max(now);
            // Keys whose state is as good as fresh are dropped now and then, so a client
            // trying many addresses cannot grow the map without bound.
            if generation.limiter.len() > 10_000 {
                generation.limiter.retain_recent();
            }
            generation.limiter.clone()
        };
        let key = email.trim().to_lowercase();
        limiter.check_key(&key).map_err(|refused| {
            let wait = refused.wait_time_from(source.now());
            // Whole seconds, rounded up: waiting that long is always enough.
            let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            secs.max(1)
        })
    }
}

fn quota() -> Quota {
    Quota::per_minute(NonZeroU32::new(LOGINS_PER_MINUTE).unwrap_or(NonZeroU32::MIN))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_read_the_clock() {
        let now = Utc::now();
        let later = crate::planes::identity::input::stamp(now + chrono::Duration::minutes(1));
        assert!(is_locked(Some(&later), now));
        assert!(!is_locked(Some(&later), now + chrono::Duration::minutes(2)));
        assert!(!is_locked(None, now));
    }

    #[test]
    fn the_eleventh_attempt_waits_and_the_clock_frees_it() {
        let clock = Arc::new(Clock::default());
        let limits = LoginLimiter::default();
        for _ in 0..LOGINS_PER_MINUTE {
            assert_eq!(limits.attempt(&clock, "Ada@Example.com"), Ok(()));
        }
        let wait = limits.attempt(&clock, "ada@example.com").unwrap_err();
        assert!((1..=6).contains(&wait), "{wait}");
        // Another address is not held up by this one's flood.
        assert_eq!(limits.attempt(&clock, "bob@example.com"), Ok(()));
        clock.advance(std::time::Duration::from_secs(wait));
        assert_eq!(limits.attempt(&clock, "ada@example.com"), Ok(()));
        // Setting the clock back forgets the flood.
        clock.advance(std::time::Duration::from_secs(3600));
        for _ in 0..=LOGINS_PER_MINUTE {
            let _ = limits.attempt(&clock, "ada@example.com");
        }
        assert!(limits.attempt(&clock, "ada@example.com").is_err());
        clock.real();
        assert_eq!(limits.attempt(&clock, "ada@example.com"), Ok(()));
    }
}
