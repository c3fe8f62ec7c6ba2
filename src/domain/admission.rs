//! The one admission path (PLATFORM.md §2): every face that runs a tool (the invoke route,
//! `/mcp/{tool}`, the marketplace's `invoke_tool`, `cortex-emu invoke` and test cases) builds a
//! [`RunRequest`] and calls [`run`]. The checks run in the platform's order, key → balance →
//! function → version → fee cover, before any code runs; a refused request is not charged.

use std::sync::Arc;

use serde_json::Value;

use crate::catalogue::GatewayError;
use crate::domain::app::App;
use crate::domain::billing::minimum_micros;
use crate::domain::runs::{execute, Executed, Payer};
use crate::domain::versions::{resolve, visible_to, Target};
use crate::registry::{Bundle, Tool, ToolKind};
use crate::store::KeyRecord;

/// Who asks for a run.
#[derive(Clone)]
pub enum Caller {
    /// A key the face has authenticated (see [`authenticate`]).
    Key(KeyRecord),
    /// The command line or a test case: runs as the tool's own organization, is not charged and
    /// not recorded, and sees private tools and drafts.
    Local,
}

/// One request to run a tool, from any face.
pub struct RunRequest {
    pub caller: Caller,
    pub tool_id: String,
    /// As written by the client (`1.0`, `v1.0.0`, `draft`); `None` is the latest.
    pub version: Option<String>,
    pub event: Value,
    /// Only tools of this kind are found (MCP endpoints serve MCP tools only).
    pub kind: Option<ToolKind>,
    /// Run exactly this code instead of the version's (test cases of a revision being
    /// published).
    pub code: Option<Arc<Bundle>>,
    /// The activation this run replays (recorded on the new activation).
    pub replay_of: Option<String>,
}

impl RunRequest {
    pub fn new(caller: Caller, tool_id: impl Into<String>, event: Value) -> Self {
        RunRequest {
            caller,
            tool_id: tool_id.into(),
            version: None,
            event,
            kind: None,
            code: None,
            replay_of: None,
        }
    }
}

/// How a face reads the `Authorization` header.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum KeyStyle {
    /// The gateway's: the raw key; `Bearer <key>` is the documented mistake (G401-bearer).
    Raw,
    /// MCP clients send `Bearer <key>`, which MCP endpoints accept as well as the raw key.
    RawOrBearer,
}

/// The token of `Authorization: Bearer <token>` (scheme in any case, RFC 9110 §11.1); None
/// for another scheme or an empty token.
pub fn bearer_token(header: &str) -> Option<&str> {
    let (scheme, token) = header.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// The key an `Authorization` header value names (G401-* when none is valid).
pub fn authenticate(
    app: &App,
    header: Option<&str>,
    style: KeyStyle,
) -> Result<KeyRecord, GatewayError> {
    let raw = header
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or(GatewayError::Unauthorized)?;
    let bearer = raw.len() > 7 && raw[..7].eq_ignore_ascii_case("bearer ");
    let key = match (bearer, style) {
        (true, KeyStyle::Raw) => return Err(GatewayError::BearerPrefix),
        (true, KeyStyle::RawOrBearer) => raw[7..].trim(),
        (false, _) => raw,
    };
    app.store
        .authenticate(key)
        .ok_or(GatewayError::Unauthorized)
}

/// The organization slug of a key.
pub fn org_slug(app: &App, key: &KeyRecord) -> String {
    app.store
        .org(&key.org_id)
        .map(|o| o.slug)
        .unwrap_or_default()
}

/// A tool a key may see (its organization's own and public ones), of `kind` when given.
/// Unknown ids and other organizations' private tools look the same (G404-function).
pub fn find_tool(
    app: &App,
    key: &KeyRecord,
    tool_id: &str,
    kind: Option<ToolKind>,
) -> Result<Arc<Tool>, GatewayError> {
    let slug = org_slug(app, key);
    match app.registry.get(tool_id) {
        Some(t) if kind.is_none_or(|k| t.kind == k) && visible_to(&app.store, &t, &slug) => Ok(t),
        _ => Err(GatewayError::UnknownFunction),
    }
}

/// What admission decided: the tool, its code, and who pays.
pub struct Admitted {
    pub tool: Arc<Tool>,
    pub target: Target,
    payer: Payer,
}

/// Checks a request in the platform's order without running anything.
pub fn admit(app: &App, req: &RunRequest) -> Result<Admitted, GatewayError> {
    let lookup = |tool: Option<Arc<Tool>>| {
        tool.filter(|t| req.kind.is_none_or(|k| t.kind == k))
            .ok_or(GatewayError::UnknownFunction)
    };
    let (tool, payer, balance) = match &req.caller {
        Caller::Local => (lookup(app.registry.get(&req.tool_id))?, Payer::Local, None),
        Caller::Key(key) => {
            // An empty balance blocks every run, before the tool is even looked up.
            let balance = app.store.balance_micros(&key.org_id);
            if balance <= 0 {
                return Err(GatewayError::InsufficientBalance);
            }
            let tool = find_tool(app, key, &req.tool_id, req.kind)?;
            let payer = Payer::Key {
                key: key.clone(),
                org_slug: org_slug(app, key),
            };
            (tool, payer, Some(balance))
        }
    };
    let target = match &req.code {
        Some(code) => Target::Published {
            version: "draft".into(),
            bundle: code.clone(),
        },
        None => resolve(&app.store, &tool, req.version.as_deref())
            .ok_or(GatewayError::UnknownVersion)?,
    };
    // The price is known only now: the balance must cover the fee plus 1 ms of compute.
    if balance.is_some_and(|b| b < minimum_micros(&app.config, &tool)) {
        return Err(GatewayError::InsufficientBalance);
    }
    Ok(Admitted {
        tool,
        target,
        payer,
    })
}

/// Admits and runs a request: the one way any face runs a tool.
pub async fn run(app: &Arc<App>, req: RunRequest) -> Result<Executed, GatewayError> {
    let admitted = admit(app, &req)?;
    Ok(execute(
        app,
        &admitted.tool,
        admitted.target,
        req.event,
        admitted.payer,
        req.replay_of,
    )
    .await)
}

/// A request refused before anything ran: one terminal line with the reason and the catalogue
/// row, and an entry in the request log (`cortex-emu refusals`); nothing is billed.
pub fn note_refusal(
    app: &App,
    route: &str,
    tool_id: &str,
    org_id: Option<String>,
    e: GatewayError,
) {
    let status = e.status().as_u16();
    app.say(&format!("{status} {tool_id}: {} ({})", e.reason(), e.id()));
    app.store.record_refusal(
        crate::store::refusals::Refusal {
            at: app.clock.rfc3339(),
            route: route.to_string(),
            tool: tool_id.to_string(),
            organization: None,
            status_code: status,
            response: e.id().to_string(),
            reason: e.reason().to_string(),
        },
        org_id,
    );
}
