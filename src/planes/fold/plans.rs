//! Plans: Free has a hard monthly run cap (`USAGE_LIMIT_EXCEEDED`), Pro a soft one (runs go
//! on; usage says it is over). The month is the calendar month (UTC) of the emulator's clock,
//! so a test moves the clock into the next month instead of waiting. A Pro-only feature on Free
//! is `PRO_PLAN_REQUIRED`; moving to Free while this month's runs are over its cap is
//! `DOWNGRADE_BLOCKED`.
//!
//! Routes: `GET /billing/plan`, `PUT /billing/plan {"plan"}`, `GET /usage[/{days}]`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::Json;
use chrono::{Datelike, Duration, TimeZone, Utc};
use serde::Deserialize;
use serde_json::{json, Value};

use super::access::{self, Action};
use super::envelope::FoldError;
use crate::domain::app::App;
use crate::store::Organization;

/// The first instant of the clock's current month, as stored timestamps are written.
fn month_start(app: &App) -> String {
    let now = app.clock.now();
    Utc.with_ymd_and_hms(now.year(), now.month(), 1, 0, 0, 0)
        .single()
        .unwrap_or(now)
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// The month's runs of `org_id`, its plan and that plan's cap.
async fn standing(app: &App, org_id: &str) -> Result<(String, i64, u64), FoldError> {
    let plan = app.store.fold_plan(org_id).await?;
    let runs = app.store.fold_runs_since(org_id, &month_start(app)).await?;
    let cap = if plan == "pro" {
        app.config.fold.pro_monthly_runs
    } else {
        app.config.fold.free_monthly_runs
    };
    Ok((plan, runs, cap))
}

/// Refuses a run once a Free organization has used its month.
pub(crate) async fn check_cap(app: &App, org: &Organization) -> Result<(), FoldError> {
    let (plan, runs, cap) = standing(app, &org.id).await?;
    if plan == "free" && runs as u64 >= cap {
        return Err(FoldError::details(
            "F-usage",
            json!({"plan": plan, "runs_this_month": runs, "monthly_limit": cap, "month_started_at": month_start(app)}),
        ));
    }
    Ok(())
}

/// Refuses a Pro-only feature on Free.
pub(crate) async fn require_pro(app: &App, org_id: &str, feature: &str) -> Result<(), FoldError> {
    if app.store.fold_plan(org_id).await? != "pro" {
        return Err(FoldError::details(
            "F-pro",
            json!({"feature": feature, "plan": "free"}),
        ));
    }
    Ok(())
}

async fn plan_json(app: &App, org_id: &str) -> Result<Value, FoldError> {
    let (plan, runs, cap) = standing(app, org_id).await?;
    Ok(json!({
        "plan": plan,
        "runs_this_month": runs,
        "monthly_limit": cap,
        "limit_kind": if plan == "pro" { "soft" } else { "hard" },
        "over_limit": runs as u64 >= cap,
        "month_started_at": month_start(app),
    }))
}

/// `GET /billing/plan`.
pub(crate) async fn read(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
) -> Result<Json<Value>, FoldError> {
    let token = access::caller(&app, &headers, Action::Read).await?;
    Ok(Json(plan_json(&app, &token.org_id).await?))
}

#[derive(Deserialize)]
struct PlanBody {
    plan: Option<Value>,
}

/// `PUT /billing/plan {"plan": "free" | "pro"}` (admin or billing-admin).
pub(crate) async fn change(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, FoldError> {
    let token = access::caller(&app, &headers, Action::Billing).await?;
    let req: PlanBody = serde_json::from_slice(&body)
        .map_err(|e| FoldError::field("body", format!("not a JSON object: {e}")))?;
    let plan = match req.plan {
        Some(Value::String(p)) if crate::config::FOLD_PLANS.contains(&p.as_str()) => p,
        Some(other) => {
            return Err(FoldError::field(
                "plan",
                format!(
                    "{other} is not one of {}",
                    crate::config::FOLD_PLANS.join(", ")
                ),
            ))
        }
        None => return Err(FoldError::field("plan", "is required")),
    };
    let (current, runs, _) = standing(&app, &token.org_id).await?;
    let free_cap = app.config.fold.free_monthly_runs;
    if current == "pro" && plan == "free" && runs as u64 > free_cap {
        return Err(FoldError::details(
            "F-downgrade",
            json!({"runs_this_month": runs, "free_monthly_limit": free_cap}),
        ));
    }
    app.store.fold_set_plan(&token.org_id, &plan).await?;
    Ok(Json(plan_json(&app, &token.org_id).await?))
}

/// `GET /usage` and `GET /usage/{days}` (default 30, at most 365): runs per day, oldest first.
pub(crate) async fn usage(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    days: Option<Path<String>>,
) -> Result<Json<Value>, FoldError> {
    let token = access::caller(&app, &headers, Action::Read).await?;
    let days = match days {
        None => 30,
        Some(Path(d)) => match d.parse::<i64>() {
            Ok(n) if (1..=365).contains(&n) => n,
            _ => {
                return Err(FoldError::field(
                    "days",
                    format!("{d:?} is not a whole number of days from 1 to 365"),
                ))
            }
        },
    };
    let today = app.clock.now().date_naive();
    let since = today - Duration::days(days - 1);
    let rows = app
        .store
        .fold_usage(&token.org_id, &since.format("%Y-%m-%d").to_string())
        .await?;
    let total: i64 = rows.iter().map(|d| d.runs).sum();
    let mut plan = plan_json(&app, &token.org_id).await?;
    plan["days"] = json!(days);
    plan["total_runs"] = json!(total);
    plan["usage"] = json!(rows);
    Ok(Json(plan))
}
