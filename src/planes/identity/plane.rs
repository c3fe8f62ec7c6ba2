//! What the plane holds beside the store: the signing key once read, and the login limiter.
//! One per router (an `Extension`), so two emulators in one process never share them.

use std::sync::Arc;

use tokio::sync::OnceCell;

use super::limits::LoginLimiter;
use super::problem::Problem;
use super::tokens::Keys;
use crate::domain::app::App;

#[derive(Default)]
pub(crate) struct Plane {
    keys: OnceCell<Arc<Keys>>,
    pub(crate) logins: LoginLimiter,
}

impl Plane {
    /// The signing keys: read from the state on first use (and created there by the first
    /// emulator that needs one), then kept.
    pub(crate) async fn keys(&self, app: &App) -> Result<Arc<Keys>, Problem> {
        self.keys
            .get_or_try_init(|| async {
                let mut fresh = [0u8; 32];
                rand::RngCore::fill_bytes(&mut rand::rng(), &mut fresh);
                let secret = app
                    .store
                    .identity_signing_key(fresh.to_vec(), app.clock.rfc3339())
                    .await?;
                Ok::<_, Problem>(Arc::new(Keys::new(&secret)))
            })
            .await
            .cloned()
    }
}
