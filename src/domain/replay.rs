//! Replay (issue 16): an activation's event run again, against the tool's current code (its
//! draft, as the folder holds it now) or the same version it ran (`same_version`), as the
//! organization that ran it, recorded as a new activation that names the original. The admin
//! API (`POST /_emulator/v1/activations/{id}/replay`), `cortex-emu replay` and the dashboard
//! all come here.

use std::sync::Arc;

use crate::domain::admission::{run, Caller, RunRequest};
use crate::domain::app::App;
use crate::domain::runs::Executed;
use crate::store::Activation;

/// Why an activation cannot be replayed (each says what to do).
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("no activation {0:?}")]
    NotFound(String),
    #[error("{0:?} names more than one activation: give more of the id")]
    Ambiguous(String),
    #[error("activation {0} was answered by fault injection: nothing ran, so there is nothing to replay")]
    Injected(String),
    #[error("tool {0:?} no longer exists (its folder was removed)")]
    ToolGone(String),
    #[error("the draft of {tool} has changed since activation {id} ran (code {hash}); replay against the current draft, without same_version")]
    DraftChanged {
        tool: String,
        id: String,
        hash: String,
    },
    #[error("organization of activation {0} has no key that works now: create one (cortex-emu keys create NAME --org SLUG)")]
    NoKey(String),
    #[error("the replay was refused: {0}")]
    Refused(String),
    #[error("{0}")]
    Store(String),
}

/// The original activation and the replay's run.
pub struct Replayed {
    pub original: Activation,
    pub run: Executed,
}

pub async fn replay(app: &Arc<App>, id: &str, same_version: bool) -> Result<Replayed, ReplayError> {
    let mut found = app
        .store
        .activations_by_prefix(id.to_string())
        .await
        .map_err(|e| ReplayError::Store(e.to_string()))?;
    let original = match found.len() {
        0 => return Err(ReplayError::NotFound(id.to_string())),
        1 => found.remove(0),
        _ => return Err(ReplayError::Ambiguous(id.to_string())),
    };
    if original.injected {
        return Err(ReplayError::Injected(original.id));
    }
    let tool = app
        .registry
        .get(&original.tool_id)
        .ok_or_else(|| ReplayError::ToolGone(original.tool_id.clone()))?;
    let version = if same_version {
        if original.version == "draft" && tool.bundle.hash != original.code_hash {
            return Err(ReplayError::DraftChanged {
                tool: tool.id.clone(),
                id: original.id.clone(),
                hash: original.code_hash.chars().take(12).collect(),
            });
        }
        original.version.clone()
    } else {
        "draft".to_string()
    };
    let key = app
        .store
        .active_key_of(&original.org_id)
        .ok_or_else(|| ReplayError::NoKey(original.id.clone()))?;
    let event = serde_json::from_str(&original.event).unwrap_or(serde_json::Value::Null);
    let mut request = RunRequest::new(Caller::Key(key), tool.id.clone(), event);
    request.version = Some(version);
    request.replay_of = Some(original.id.clone());
    let run = run(app, request)
        .await
        .map_err(|e| ReplayError::Refused(app.catalogue.body(e)))?;
    Ok(Replayed { original, run })
}
