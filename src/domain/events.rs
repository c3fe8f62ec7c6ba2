//! What hot reload announces. Lower layers never call up into the faces: the MCP face and the
//! store's tool table subscribe to these instead.

use std::sync::Arc;

use crate::registry::Tool;

#[derive(Debug, Clone)]
pub enum ToolEvent {
    /// A new revision of a tool (or a new tool) now serves.
    Reloaded(Arc<Tool>),
    /// A tool's folder was deleted; its id answers 404 from now on.
    Removed(String),
}

/// The channel of [`ToolEvent`]s. Slow subscribers skip events rather than hold up a reload.
pub type ToolEvents = tokio::sync::broadcast::Sender<ToolEvent>;

pub fn channel() -> ToolEvents {
    tokio::sync::broadcast::channel(256).0
}
