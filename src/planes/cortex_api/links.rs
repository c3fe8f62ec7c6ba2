//! Presigned links of `fetch/content` (`mode=url`): `fetch/file/<token>` serves a source's bytes
//! without a key until the link expires on the emulator's clock. The token is the target and its
//! expiry, signed with a secret made at start (**choice**: links do not survive a restart, as a
//! local stand-in for the service's object store; a client fetches again).

use std::sync::OnceLock;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use sha2::{Digest, Sha256};

use crate::domain::app::App;

pub(crate) struct Target {
    pub tenant: String,
    pub sub: String,
    pub source: String,
}

fn secret() -> &'static [u8; 32] {
    static SECRET: OnceLock<[u8; 32]> = OnceLock::new();
    SECRET.get_or_init(rand::random)
}

fn signature(payload: &str) -> String {
    let mut h = Sha256::new();
    h.update(secret());
    h.update(payload.as_bytes());
    h.finalize()
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The path (below the plane's base URL) of a link valid for `seconds`.
pub(crate) fn sign(app: &App, tenant: &str, sub: &str, source: &str, seconds: i64) -> String {
    let expires = app.clock.now().timestamp() + seconds;
    let payload = format!("{tenant}\n{sub}\n{source}\n{expires}");
    format!(
        "/fetch/file/{}.{}",
        URL_SAFE_NO_PAD.encode(payload.as_bytes()),
        signature(&payload)
    )
}

/// What a token points at, if it is genuine and not yet expired.
pub(crate) fn verify(app: &App, token: &str) -> Option<Target> {
    let (encoded, sig) = token.split_once('.')?;
    let payload = String::from_utf8(URL_SAFE_NO_PAD.decode(encoded).ok()?).ok()?;
    if signature(&payload) != sig {
        return None;
    }
    let mut parts = payload.split('\n');
    let (tenant, sub, source) = (parts.next()?, parts.next()?, parts.next()?);
    let expires: i64 = parts.next()?.parse().ok()?;
    (app.clock.now().timestamp() < expires).then(|| Target {
        tenant: tenant.into(),
        sub: sub.into(),
        source: source.into(),
    })
}
