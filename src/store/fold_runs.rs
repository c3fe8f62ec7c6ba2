//! The fold plane's run history and plans: one activation per dispatch (request, response,
//! logs, subrequests, the error of a failed run, the activation it replays), and the plan each
//! organization is on. Usage (runs per day, runs this month) is counted from the activations,
//! so it can never disagree with them.

use rusqlite::{params, OptionalExtension, Row};
use serde::Serialize;
use serde_json::Value;

use super::{Store, StoreError};

/// Migration 8.
pub const MIGRATION: &str = r#"
    CREATE TABLE fold_activations (
        id               TEXT PRIMARY KEY,
        org_id           TEXT NOT NULL,
        function_id      TEXT NOT NULL,
        function_name    TEXT NOT NULL,
        version          INTEGER NOT NULL,
        status           TEXT NOT NULL,
        duration_ms      REAL NOT NULL,
        error_message    TEXT,
        triggered_at     TEXT NOT NULL,
        response_status  INTEGER,
        request          TEXT NOT NULL,
        response         TEXT,
        logs             TEXT NOT NULL DEFAULT '',
        subrequests      TEXT NOT NULL DEFAULT '[]',
        replay_of        TEXT
    );
    CREATE INDEX fold_activations_by_org ON fold_activations (org_id, triggered_at);
    CREATE INDEX fold_activations_by_function ON fold_activations (function_id, triggered_at);
    CREATE TABLE fold_plans (
        org_id      TEXT PRIMARY KEY,
        plan        TEXT NOT NULL,
        changed_at  TEXT NOT NULL
    );
"#;

pub const WIPE_SQL: &str = "
    DELETE FROM fold_activations;
    DELETE FROM fold_plans;
";

/// One dispatch of a function, as stored.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FoldActivation {
    pub id: String,
    #[serde(skip)]
    pub org_id: String,
    pub function_id: String,
    pub function_name: String,
    pub version: i64,
    /// `success`, `error` or `timeout`.
    pub status: String,
    pub duration_ms: f64,
    pub error_message: Option<String>,
    pub triggered_at: String,
    pub response_status: Option<i64>,
    /// `{"method","url","headers","body"}` as the function received it.
    pub request: Value,
    /// `{"status","statusText","headers","body"}` as the caller got it (null when it failed).
    pub response: Value,
    pub logs: String,
    pub subrequests: Value,
    pub replay_of: Option<String>,
}

/// A filter on the activation list.
#[derive(Debug, Clone, Default)]
pub struct ActivationQuery {
    pub function_id: Option<String>,
    pub status: Option<String>,
    /// Only activations at or after this instant (RFC 3339).
    pub since: Option<String>,
    pub limit: usize,
}

/// Runs of one day.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DayUsage {
    pub date: String,
    pub runs: i64,
    pub errors: i64,
    pub duration_ms: f64,
}

const COLUMNS: &str = "id, org_id, function_id, function_name, version, status, duration_ms,
    error_message, triggered_at, response_status, request, response, logs, subrequests, replay_of";

fn json_column(text: Option<String>) -> Value {
    text.and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(Value::Null)
}

fn activation_row(r: &Row<'_>) -> rusqlite::Result<FoldActivation> {
    Ok(FoldActivation {
        id: r.get(0)?,
        org_id: r.get(1)?,
        function_id: r.get(2)?,
        function_name: r.get(3)?,
        version: r.get(4)?,
        status: r.get(5)?,
        duration_ms: r.get(6)?,
        error_message: r.get(7)?,
        triggered_at: r.get(8)?,
        response_status: r.get(9)?,
        request: json_column(r.get(10)?),
        response: json_column(r.get(11)?),
        logs: r.get(12)?,
        subrequests: json_column(r.get(13)?),
        replay_of: r.get(14)?,
    })
}

impl Store {
    /// Stores an activation; it is committed before the dispatch answers.
    pub async fn fold_record(&self, a: FoldActivation) -> Result<(), StoreError> {
        self.call(move |c| {
            c.execute(
                &format!(
                    "INSERT INTO fold_activations ({COLUMNS})
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)"
                ),
                params![
                    a.id,
                    a.org_id,
                    a.function_id,
                    a.function_name,
                    a.version,
                    a.status,
                    a.duration_ms,
                    a.error_message,
                    a.triggered_at,
                    a.response_status,
                    a.request.to_string(),
                    (!a.response.is_null()).then(|| a.response.to_string()),
                    a.logs,
                    a.subrequests.to_string(),
                    a.replay_of,
                ],
            )?;
            Ok(())
        })
        .await
    }

    pub async fn fold_activation(&self, id: &str) -> Result<Option<FoldActivation>, StoreError> {
        let id = id.to_string();
        self.call(move |c| {
            c.query_row(
                &format!("SELECT {COLUMNS} FROM fold_activations WHERE id = ?1"),
                [id],
                activation_row,
            )
            .optional()
        })
        .await
    }

    /// An organization's activations, newest first.
    pub async fn fold_activations(
        &self,
        org_id: &str,
        q: ActivationQuery,
    ) -> Result<Vec<FoldActivation>, StoreError> {
        let org = org_id.to_string();
        self.call(move |c| {
            let mut stmt = c.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM fold_activations
                 WHERE org_id = ?1 AND (?2 IS NULL OR function_id = ?2) AND (?3 IS NULL OR status = ?3)
                   AND (?4 IS NULL OR triggered_at >= ?4)
                 ORDER BY triggered_at DESC, rowid DESC LIMIT ?5"
            ))?;
            let rows = stmt.query_map(
                params![org, q.function_id, q.status, q.since, q.limit as i64],
                activation_row,
            )?;
            rows.collect()
        })
        .await
    }

    /// Runs of an organization at or after `since` (RFC 3339): the monthly cap's count.
    pub async fn fold_runs_since(&self, org_id: &str, since: &str) -> Result<i64, StoreError> {
        let (org, since) = (org_id.to_string(), since.to_string());
        self.call(move |c| {
            c.query_row(
                "SELECT COUNT(*) FROM fold_activations WHERE org_id = ?1 AND triggered_at >= ?2",
                params![org, since],
                |r| r.get(0),
            )
        })
        .await
    }

    /// Runs per day at or after `since`, oldest day first.
    pub async fn fold_usage(&self, org_id: &str, since: &str) -> Result<Vec<DayUsage>, StoreError> {
        let (org, since) = (org_id.to_string(), since.to_string());
        self.call(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT substr(triggered_at, 1, 10) AS day, COUNT(*),
                        SUM(status != 'success'), ROUND(COALESCE(SUM(duration_ms), 0), 3)
                 FROM fold_activations WHERE org_id = ?1 AND triggered_at >= ?2
                 GROUP BY day ORDER BY day",
            )?;
            let rows = stmt.query_map(params![org, since], |r| {
                Ok(DayUsage {
                    date: r.get(0)?,
                    runs: r.get(1)?,
                    errors: r.get(2)?,
                    duration_ms: r.get(3)?,
                })
            })?;
            rows.collect()
        })
        .await
    }

    /// The organization's plan (`free` when never set).
    pub async fn fold_plan(&self, org_id: &str) -> Result<String, StoreError> {
        let org = org_id.to_string();
        self.call(move |c| {
            c.query_row(
                "SELECT plan FROM fold_plans WHERE org_id = ?1",
                [org],
                |r| r.get::<_, String>(0),
            )
            .optional()
        })
        .await
        .map(|p| p.unwrap_or_else(|| "free".into()))
    }

    pub async fn fold_set_plan(&self, org_id: &str, plan: &str) -> Result<(), StoreError> {
        let (org, plan) = (org_id.to_string(), plan.to_string());
        let now = self.clock.rfc3339();
        self.call(move |c| {
            c.execute(
                "INSERT INTO fold_plans (org_id, plan, changed_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT(org_id) DO UPDATE SET plan = excluded.plan, changed_at = excluded.changed_at",
                params![org, plan, now],
            )?;
            Ok(())
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn activation(id: &str, at: &str, status: &str) -> FoldActivation {
        FoldActivation {
            id: id.into(),
            org_id: "o".into(),
            function_id: "fn_1".into(),
            function_name: "hello".into(),
            version: 1,
            status: status.into(),
            duration_ms: 2.5,
            error_message: None,
            triggered_at: at.into(),
            response_status: Some(200),
            request: serde_json::json!({"method": "GET"}),
            response: Value::Null,
            logs: String::new(),
            subrequests: serde_json::json!([]),
            replay_of: None,
        }
    }

    #[tokio::test]
    async fn activations_filter_count_and_group_by_day() {
        let store = Store::open(None, None, Default::default()).unwrap();
        for (id, at, st) in [
            ("a1", "2026-11-30T23:59:59.000Z", "success"),
            ("a2", "2026-12-01T00:00:00.000Z", "error"),
            ("a3", "2026-12-02T10:00:00.000Z", "success"),
        ] {
            store.fold_record(activation(id, at, st)).await.unwrap();
        }
        let month = store
            .fold_runs_since("o", "2026-12-01T00:00:00.000Z")
            .await
            .unwrap();
        assert_eq!(month, 2);
        let errors = store
            .fold_activations(
                "o",
                ActivationQuery {
                    status: Some("error".into()),
                    limit: 50,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].id, "a2");
        let days = store.fold_usage("o", "2026-11-01").await.unwrap();
        assert_eq!(
            days.iter()
                .map(|d| (d.date.as_str(), d.runs, d.errors))
                .collect::<Vec<_>>(),
            vec![
                ("2026-11-30", 1, 0),
                ("2026-12-01", 1, 1),
                ("2026-12-02", 1, 0)
            ]
        );
        let back = store.fold_activation("a1").await.unwrap().unwrap();
        assert_eq!(
            back,
            activation("a1", "2026-11-30T23:59:59.000Z", "success")
        );
    }

    #[tokio::test]
    async fn a_plan_is_free_until_set() {
        let store = Store::open(None, None, Default::default()).unwrap();
        assert_eq!(store.fold_plan("o").await.unwrap(), "free");
        store.fold_set_plan("o", "pro").await.unwrap();
        assert_eq!(store.fold_plan("o").await.unwrap(), "pro");
    }
}
