//! The password policy, the email check and password hashing.
//!
//! **choice** (the docs name only the uppercase rule): a password has at least 8 characters,
//! an uppercase letter, a lowercase letter and a digit; the rules are checked in that order and
//! the answer names the first one that fails.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

use super::problem::Problem;

pub(crate) const MIN_PASSWORD_CHARS: usize = 8;

/// The first rule `password` breaks, in the words of the `password-policy` detail.
pub(crate) fn password_rule_broken(password: &str) -> Option<&'static str> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Some("Password must be at least 8 characters long");
    }
    if !password.chars().any(char::is_uppercase) {
        return Some("Password must contain at least one uppercase letter");
    }
    if !password.chars().any(char::is_lowercase) {
        return Some("Password must contain at least one lowercase letter");
    }
    if !password.chars().any(|c| c.is_ascii_digit()) {
        return Some("Password must contain at least one number");
    }
    None
}

/// P-password for a password the policy refuses.
pub(crate) fn check_password(password: &str) -> Result<(), Problem> {
    match password_rule_broken(password) {
        Some(rule) => Err(Problem::new("P-password").detail(rule)),
        None => Ok(()),
    }
}

/// **choice**: an address is one `@` between a non-empty local part and a domain with a dot,
/// without spaces, at most 254 characters. Deliverability is not the emulator's business.
pub(crate) fn plausible_email(s: &str) -> bool {
    if s.len() > 254 || s.chars().any(char::is_whitespace) {
        return false;
    }
    match s.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        }
        None => false,
    }
}

/// Argon2id with the crate's default parameters (OWASP's 19 MiB, 2 passes), in a PHC string
/// that records them, so a hash stays verifiable if the defaults change. Hashing is CPU-bound
/// on purpose: it runs on the blocking pool, not on a request thread.
pub(crate) async fn hash_password(password: String) -> Result<String, Problem> {
    tokio::task::spawn_blocking(move || {
        let mut salt = [0u8; 16];
        rand::RngCore::fill_bytes(&mut rand::rng(), &mut salt);
        let salt = SaltString::encode_b64(&salt).map_err(|e| e.to_string())?;
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| e.to_string())
    })
    .await
    .map_err(|e| e.to_string())
    .and_then(|r| r)
    .map_err(|e| {
        tracing::error!("identity plane: cannot hash a password: {e}");
        Problem::new("P-internal")
    })
}

/// Whether `password` matches the PHC string `hash` (false for a hash that does not parse).
pub(crate) async fn verify_password(password: String, hash: String) -> bool {
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash)
            .map(|parsed| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
            .unwrap_or(false)
    })
    .await
    .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_in_order() {
        assert_eq!(
            password_rule_broken("Ab1"),
            Some("Password must be at least 8 characters long")
        );
        assert_eq!(
            password_rule_broken("weakpass1"),
            Some("Password must contain at least one uppercase letter")
        );
        assert_eq!(
            password_rule_broken("WEAKPASS1"),
            Some("Password must contain at least one lowercase letter")
        );
        assert_eq!(
            password_rule_broken("Weakpass"),
            Some("Password must contain at least one number")
        );
        assert_eq!(password_rule_broken("Str0ngPass"), None);
    }

    #[test]
    fn emails() {
        assert!(plausible_email("ada@example.com"));
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "a da@example.com",
            "a@b@c.d",
        ] {
            assert!(!plausible_email(bad), "{bad}");
        }
    }

    #[tokio::test]
    async fn hashes_verify() {
        let h = hash_password("Str0ngPass".into()).await.unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("Str0ngPass".into(), h.clone()).await);
        assert!(!verify_password("Str0ngPasS".into(), h).await);
        assert!(!verify_password("x".into(), "not a hash".into()).await);
    }
}
