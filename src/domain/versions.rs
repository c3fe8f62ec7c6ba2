//! Which code a request runs (PLATFORM.md §3) and who may see a tool.

use std::sync::Arc;

pub use crate::registry::{parse_version, VersionSpec};
use crate::registry::{Bundle, Tool, Visibility};
use crate::store::Store;

/// Which code a request runs.
#[derive(Clone)]
pub enum Target {
    Draft,
    Published {
        version: String,
        bundle: Arc<Bundle>,
    },
}

impl Target {
    /// The version label and the code of `tool` this target names.
    pub fn code(self, tool: &Tool) -> (String, Arc<Bundle>) {
        match self {
            Target::Draft => ("draft".to_string(), tool.bundle.clone()),
            Target::Published { version, bundle } => (version, bundle),
        }
    }
}

/// Finds the code a version string names.
pub fn resolve(store: &Store, tool: &Tool, version: Option<&str>) -> Option<Target> {
    let published = store.published(&tool.id);
    match parse_version(version)? {
        VersionSpec::Draft => Some(Target::Draft),
        VersionSpec::Latest => Some(match published.first() {
            Some(p) => Target::Published {
                version: p.version.clone(),
                bundle: p.bundle.clone(),
            },
            None => Target::Draft,
        }),
        VersionSpec::Number(n) => {
            published
                .iter()
                .find(|p| p.version == n)
                .map(|p| Target::Published {
                    version: p.version.clone(),
                    bundle: p.bundle.clone(),
                })
        }
    }
}

/// Whether an organization's keys may see and run `tool`: its own tools and public ones.
pub fn visible_to(store: &Store, tool: &Tool, org_slug: &str) -> bool {
    tool.organization == org_slug || is_public(store, tool)
}

/// Public tools are callable with any organization's key: public in `tool.toml`, or published
/// publicly. The one visibility rule for the gateway, MCP tools and the marketplace.
pub fn is_public(store: &Store, tool: &Tool) -> bool {
    tool.visibility == Visibility::Public
        || store
            .published(&tool.id)
            .first()
            .is_some_and(|v| v.visibility == Visibility::Public)
}
