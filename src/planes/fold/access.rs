//! Who is calling: `Authorization: Bearer <token>` with a fold token of an organization, and
//! what its role may do. Expiry reads the emulator's clock.

use axum::http::HeaderMap;
use serde_json::json;

use super::envelope::FoldError;
use crate::domain::app::App;
use crate::store::fold::FoldToken;

/// What a request does, for the role check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    Read,
    /// Deploy, roll back, delete, replay.
    Deploy,
    /// Change the plan.
    Billing,
    /// The MCP endpoint (the docs: admin role only).
    Admin,
    /// Define or remove a binding (the issue: created by admins).
    Bindings,
}

/// Which roles may do what (**choice**, from the docs' role names): `admin` and `deployer`
/// deploy, roll back, delete and replay; `admin` and `billing-admin` change the plan; `viewer`
/// only reads; the MCP endpoint and defining bindings are `admin` only.
fn allows(role: &str, action: Action) -> bool {
    match action {
        Action::Read => true,
        Action::Deploy => matches!(role, "admin" | "deployer"),
        Action::Billing => matches!(role, "admin" | "billing-admin"),
        Action::Admin | Action::Bindings => role == "admin",
    }
}

fn refusal(role: &str, action: Action) -> String {
    match action {
        Action::Read => format!("the {role} role cannot read"),
        Action::Deploy => format!("the {role} role cannot deploy, roll back, delete or replay"),
        Action::Billing => format!("the {role} role cannot change the plan"),
        Action::Admin => format!("the MCP endpoint needs the admin role, not {role}"),
        Action::Bindings => format!("defining bindings needs the admin role, not {role}"),
    }
}

pub(crate) async fn caller(
    app: &App,
    headers: &HeaderMap,
    action: Action,
) -> Result<FoldToken, FoldError> {
    let header = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .ok_or_else(|| FoldError::new("F-auth-required"))?;
    let token = crate::domain::admission::bearer_token(header).ok_or_else(|| {
        FoldError::details(
            "F-auth-invalid",
            json!({"message": "send the token as Bearer <token>"}),
        )
    })?;
    let found = app.store.fold_token(token).await?;
    let Some(t) = found.filter(|t| !t.revoked) else {
        return Err(FoldError::new("F-auth-invalid"));
    };
    if t.expires_at
        .as_deref()
        .is_some_and(|e| app.clock.rfc3339().as_str() >= e)
    {
        return Err(FoldError::details(
            "F-auth-invalid",
            json!({"message": "the token has expired"}),
        ));
    }
    if !allows(&t.role, action) {
        return Err(FoldError::details(
            "F-forbidden",
            json!({"role": t.role, "message": refusal(&t.role, action)}),
        ));
    }
    Ok(t)
}
