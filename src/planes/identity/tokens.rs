//! Access and refresh tokens.
//!
//! Access tokens are JWTs (HS256) signed with a key kept in the state, so they survive a
//! restart; their claims name the user (`sub`), the tenant (`tid`) and the login session
//! (`sid`, so logout can end them early). Expiry is judged here against the emulator's test
//! clock: jsonwebtoken's own `exp` check reads the machine's clock, so it is turned off.
//!
//! Refresh tokens are opaque random strings; the store keeps only their SHA-256, and each works
//! once (rotation).

use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

/// Access tokens live 15 minutes (PLATFORM.md §7).
pub(crate) const ACCESS_TTL: Duration = Duration::minutes(15);
/// **choice**: refresh tokens live 7 days (the docs give no figure).
pub(crate) const REFRESH_TTL: Duration = Duration::days(7);

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Claims {
    pub sub: String,
    pub tid: String,
    pub sid: String,
    pub iat: i64,
    pub exp: i64,
}

pub(crate) struct Keys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

/// What an access token turned out to be.
pub(crate) enum Checked {
    Valid(Claims),
    /// Signed by this emulator, past its `exp` on the test clock.
    Expired,
    /// Not a JWT, not signed with this emulator's key (tampered, or another's), or without the
    /// claims an access token has.
    Invalid,
}

impl Keys {
    pub(crate) fn new(secret: &[u8]) -> Keys {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.validate_exp = false;
        validation.leeway = 0;
        Keys {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
        }
    }

    /// An access token for a session, issued at `now` on the emulator's clock.
    pub(crate) fn issue(
        &self,
        user_id: &str,
        tenant: &str,
        session_id: &str,
        now: DateTime<Utc>,
    ) -> Option<String> {
        let claims = Claims {
            sub: user_id.to_string(),
            tid: tenant.to_string(),
            sid: session_id.to_string(),
            iat: now.timestamp(),
            exp: (now + ACCESS_TTL).timestamp(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| tracing::error!("identity plane: cannot sign a token: {e}"))
            .ok()
    }

    /// Checks the signature first (a tampered expired token is invalid, not expired), then the
    /// expiry against `now`.
    pub(crate) fn check(&self, token: &str, now: DateTime<Utc>) -> Checked {
        match jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation) {
            Ok(data) if data.claims.exp <= now.timestamp() => Checked::Expired,
            Ok(data) => Checked::Valid(data.claims),
            Err(_) => Checked::Invalid,
        }
    }
}

/// A new refresh token and the hash the store keeps of it.
pub(crate) fn new_refresh_token() -> (String, String) {
    let mut bytes = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut bytes);
    let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let token = format!("rt_{token}");
    let hash = refresh_hash(&token);
    (token, hash)
}

/// The hash under which the store keeps a refresh token.
pub(crate) fn refresh_hash(token: &str) -> String {
    crate::store::hash_key(token)
}

pub(crate) use crate::domain::admission::bearer_token as bearer;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue_check_expire_tamper() {
        let keys = Keys::new(b"0123456789abcdef0123456789abcdef");
        let now = Utc::now();
        let t = keys.issue("u", "acme", "s", now).unwrap();
        assert!(
            matches!(keys.check(&t, now), Checked::Valid(c) if c.sub == "u" && c.tid == "acme")
        );
        assert!(matches!(
            keys.check(&t, now + Duration::minutes(16)),
            Checked::Expired
        ));
        let other = Keys::new(b"another key, another emulator!!!");
        assert!(matches!(other.check(&t, now), Checked::Invalid));
        assert!(matches!(keys.check("garbage", now), Checked::Invalid));
        // A signed token from long ago is expired, but tampering wins over expiry.
        let old = keys
            .issue("u", "acme", "s", now - Duration::hours(1))
            .unwrap();
        assert!(matches!(keys.check(&old, now), Checked::Expired));
        let mut bad = old.clone().into_bytes();
        let mid = old.rfind('.').unwrap() + 10;
        bad[mid] = if bad[mid] == b'A' { b'B' } else { b'A' };
        assert!(matches!(
            keys.check(std::str::from_utf8(&bad).unwrap(), now),
            Checked::Invalid
        ));
    }

    #[test]
    fn refresh_tokens_are_random_and_hashed() {
        let (a, ha) = new_refresh_token();
        let (b, _) = new_refresh_token();
        assert_ne!(a, b);
        assert_eq!(refresh_hash(&a), ha);
        assert!(a.starts_with("rt_") && a.len() == 67);
    }

    #[test]
    fn bearer_scheme() {
        assert_eq!(bearer("Bearer abc"), Some("abc"));
        assert_eq!(bearer("bearer  abc "), Some("abc"));
        assert_eq!(bearer("Basic abc"), None);
        assert_eq!(bearer("Bearer "), None);
    }
}
