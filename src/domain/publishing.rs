//! Publishing (PLATFORM.md §3): the draft's files become an immutable version, refused unless
//! the tool has at least one test case and every case passes.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::cases::{load_cases, run_case, CaseOutcome};
use crate::domain::app::App;
use crate::registry::{Tool, Visibility};

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum, utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Bump {
    Patch,
    Minor,
    Major,
}

/// The version a bump gives. The first publish is `1.0.0` whatever the bump (the platform: "The
/// first time you publish a tool, it becomes version 1.0").
pub fn next_version(latest: Option<&str>, bump: Bump) -> String {
    let Some(latest) = latest else {
        return "1.0.0".into();
    };
    let mut n = [0u64; 3];
    for (i, p) in latest.split('.').take(3).enumerate() {
        n[i] = p.parse().unwrap_or(0);
    }
    match bump {
        Bump::Patch => format!("{}.{}.{}", n[0], n[1], n[2] + 1),
        Bump::Minor => format!("{}.{}.0", n[0], n[1] + 1),
        Bump::Major => format!("{}.0.0", n[0] + 1),
    }
}

#[derive(Debug)]
pub enum PublishError {
    NoTestCases,
    BadTestCase(String),
    Failing(Vec<CaseOutcome>),
    Store(String),
}

impl std::fmt::Display for PublishError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PublishError::NoTestCases => write!(
                f,
                "publishing needs at least one test case: add tests/<name>.json with {{\"event\": ..., \"expect\": {{\"statusCode\": ..., \"body\": ...}}}}"
            ),
            PublishError::BadTestCase(m) => write!(f, "a test case cannot be read: {m}"),
            PublishError::Failing(failed) => {
                writeln!(f, "publishing refused: {} test case(s) fail", failed.len())?;
                for o in failed {
                    writeln!(f, "  {}/{}:", o.tool, o.case)?;
                    for d in &o.diff {
                        writeln!(f, "    {d}")?;
                    }
                }
                Ok(())
            }
            PublishError::Store(m) => write!(f, "{m}"),
        }
    }
}

/// What a successful publish produced.
#[derive(Debug, Clone, Serialize)]
pub struct Published {
    pub tool: String,
    pub version: String,
    pub code_hash: String,
    pub visibility: Visibility,
    pub cases_passed: usize,
}

/// Runs the tool's test cases on its draft and, when all pass, snapshots the draft as the next
/// version.
pub async fn publish(
    app: &Arc<App>,
    tool: &Arc<Tool>,
    bump: Bump,
    visibility: Option<Visibility>,
) -> Result<Published, PublishError> {
    let cases = load_cases(&tool.folder).map_err(PublishError::BadTestCase)?;
    if cases.is_empty() {
        return Err(PublishError::NoTestCases);
    }
    let mut failed = Vec::new();
    for case in &cases {
        let o = run_case(app, tool, tool.bundle.clone(), case).await;
        if !o.passed {
            failed.push(o);
        }
    }
    if !failed.is_empty() {
        return Err(PublishError::Failing(failed));
    }
    let store = &app.store;
    let latest = store.published(&tool.id).first().map(|v| v.version.clone());
    let version = next_version(latest.as_deref(), bump);
    let visibility = visibility.unwrap_or(tool.visibility);
    store
        .insert_version(&tool.id, &version, tool.bundle.clone(), visibility)
        .await
        .map_err(|e| PublishError::Store(e.to_string()))?;
    Ok(Published {
        tool: tool.id.clone(),
        version,
        code_hash: tool.bundle.hash.clone(),
        visibility,
        cases_passed: cases.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bumps() {
        assert_eq!(next_version(None, Bump::Patch), "1.0.0");
        assert_eq!(next_version(Some("1.0.0"), Bump::Patch), "1.0.1");
        assert_eq!(next_version(Some("1.2.3"), Bump::Minor), "1.3.0");
        assert_eq!(next_version(Some("1.2.3"), Bump::Major), "2.0.0");
    }
}
