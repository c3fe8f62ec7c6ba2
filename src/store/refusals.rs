//! The refused half of the request log: requests the gateway answered with an error before
//! running anything. They are not activations (nothing ran, nothing was billed), but "why did
//! my call fail?" deserves an answer after the terminal line has scrolled away.

use rusqlite::params;
use serde::Serialize;

use super::{Store, StoreError};

/// How many refusals are kept; older ones are dropped as new ones arrive, so a client stuck in
/// a retry loop cannot grow the state file without bound.
const KEPT: i64 = 10_000;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Refusal {
    pub at: String,
    /// The request path (`/api/v1/functions/hello/invoke`).
    pub route: String,
    pub tool: String,
    /// The caller's organization (slug), when its key was good.
    pub organization: Option<String>,
    #[serde(rename = "statusCode")]
    pub status_code: u16,
    /// The catalogue row the answer came from (`G401`, `G402` ...).
    pub response: String,
    pub reason: String,
}

impl Store {
    /// Queues a refusal for the writer without waiting: the answer to the client is not held
    /// up by the log (a failed write only loses this log line, never a run).
    /// `r.organization` is not read: the caller's organization is `org_id`.
    pub fn record_refusal(&self, r: Refusal, org_id: Option<String>) {
        let write = self.queue(
            move |c| {
                c.execute(
                "INSERT INTO refusals (at, route, tool_id, org_id, status_code, response_id, reason)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![r.at, r.route, r.tool, org_id, r.status_code, r.response, r.reason],
            )?;
                c.execute(
                    "DELETE FROM refusals WHERE seq <= last_insert_rowid() - ?1",
                    [KEPT],
                )?;
                Ok(())
            },
            false,
        );
        // `queue` hands the work to the writer now; the future would only report the commit.
        drop(write);
    }

    /// Refusals newest first, optionally of one tool.
    pub async fn refusals(
        &self,
        tool: Option<String>,
        limit: u32,
    ) -> Result<Vec<Refusal>, StoreError> {
        let rows: Vec<(Refusal, Option<String>)> = self
            .call(move |c| {
                let mut stmt = c.prepare(
                    "SELECT at, route, tool_id, org_id, status_code, response_id, reason FROM refusals
                     WHERE (?1 IS NULL OR tool_id = ?1) ORDER BY seq DESC LIMIT ?2",
                )?;
                let rows = stmt.query_map(params![tool, limit.min(1000)], |r| {
                    Ok((
                        Refusal {
                            at: r.get(0)?,
                            route: r.get(1)?,
                            tool: r.get(2)?,
                            organization: None,
                            status_code: r.get(4)?,
                            response: r.get(5)?,
                            reason: r.get(6)?,
                        },
                        r.get::<_, Option<String>>(3)?,
                    ))
                })?;
                rows.collect()
            })
            .await?;
        Ok(rows
            .into_iter()
            .map(|(mut r, org_id)| {
                r.organization = org_id.and_then(|id| self.org(&id)).map(|o| o.slug);
                r
            })
            .collect())
    }
}
