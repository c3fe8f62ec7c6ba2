//! Fault injection (PLATFORM.md §8): any catalogue row forced on demand, scoped by route prefix,
//! tool, organization, the next N requests or a probability, with optional latency. Faces ask
//! [`Faults::take`] once per request (one middleware for the whole router), so a plane added
//! later gets faults without code of its own.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use serde::Serialize;

use crate::catalogue::rows::{self, Row};
use crate::config::FaultConfig;

/// A fault as listed: its id, its spec, and how often it has hit.
#[derive(Debug, Clone, Serialize)]
pub struct Fault {
    pub id: String,
    #[serde(flatten)]
    pub spec: FaultConfig,
    /// Matching requests it still answers (`times` counts down); none = unlimited.
    pub remaining: Option<u64>,
    pub hits: u64,
}

/// What a request is, as far as fault scopes go.
pub struct Scope<'a> {
    pub path: &'a str,
    pub tool: Option<&'a str>,
    pub organization: Option<&'a str>,
}

/// What a fault does to one request.
pub struct Hit {
    pub fault_id: String,
    /// Answer with this row instead of serving the request; none = serve it after the delay.
    pub row: Option<&'static Row>,
    pub latency: Duration,
}

#[derive(Default)]
pub struct Faults {
    list: Mutex<Vec<Fault>>,
    next_id: AtomicU64,
}

impl Faults {
    pub fn from_config(specs: &[FaultConfig]) -> Result<Self, String> {
        let faults = Faults::default();
        for spec in specs {
            faults.add(spec.clone())?;
        }
        Ok(faults)
    }

    /// Adds a fault after checking it; returns it with its new id.
    pub fn add(&self, spec: FaultConfig) -> Result<Fault, String> {
        spec.validate()?;
        let n = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        let fault = Fault {
            id: format!("fault-{n}"),
            remaining: spec.times,
            spec,
            hits: 0,
        };
        self.list.lock().unwrap().push(fault.clone());
        Ok(fault)
    }

    /// No fault in force: the per-request check can stop before reading the request.
    pub fn is_empty(&self) -> bool {
        self.list.lock().unwrap().is_empty()
    }

    pub fn list(&self) -> Vec<Fault> {
        self.list.lock().unwrap().clone()
    }

    pub fn remove(&self, id: &str) -> bool {
        let mut list = self.list.lock().unwrap();
        let before = list.len();
        list.retain(|f| f.id != id);
        list.len() != before
    }

    pub fn clear(&self) {
        self.list.lock().unwrap().clear();
    }

    /// The first fault that matches `scope` and whose chance comes up; it is counted, and
    /// removed once its `times` are used up.
    pub fn take(&self, scope: &Scope<'_>) -> Option<Hit> {
        let mut list = self.list.lock().unwrap();
        if list.is_empty() {
            return None;
        }
        let index = list.iter().position(|f| {
            matches(&f.spec, scope) && f.spec.probability.is_none_or(|p| rand::random::<f64>() < p)
        })?;
        let fault = &mut list[index];
        fault.hits += 1;
        let hit = Hit {
            fault_id: fault.id.clone(),
            row: fault.spec.response.as_deref().and_then(rows::row),
            latency: Duration::from_millis(fault.spec.latency_ms.unwrap_or(0)),
        };
        if let Some(left) = fault.remaining.as_mut() {
            *left -= 1;
            if *left == 0 {
                list.remove(index);
            }
        }
        Some(hit)
    }
}

fn matches(spec: &FaultConfig, scope: &Scope<'_>) -> bool {
    let route_ok = spec
        .route
        .as_deref()
        .is_none_or(|r| scope.path.starts_with(r));
    let tool_ok = spec.tool.as_deref().is_none_or(|t| scope.tool == Some(t));
    let org_ok = spec
        .organization
        .as_deref()
        .is_none_or(|o| scope.organization == Some(o));
    route_ok && tool_ok && org_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope<'a>(path: &'a str, tool: Option<&'a str>) -> Scope<'a> {
        Scope {
            path,
            tool,
            organization: None,
        }
    }

    #[test]
    fn times_count_down_and_scopes_filter() {
        let faults = Faults::default();
        faults
            .add(FaultConfig {
                response: Some("G402".into()),
                tool: Some("hello".into()),
                times: Some(2),
                ..Default::default()
            })
            .unwrap();
        assert!(faults.take(&scope("/x", Some("other"))).is_none());
        assert!(faults.take(&scope("/x", Some("hello"))).is_some());
        assert!(faults.take(&scope("/x", Some("hello"))).is_some());
        assert!(faults.take(&scope("/x", Some("hello"))).is_none());
        assert!(faults.list().is_empty());
    }

    #[test]
    fn refuses_unknown_rows() {
        let e = Faults::default()
            .add(FaultConfig {
                response: Some("G999".into()),
                ..Default::default()
            })
            .unwrap_err();
        assert!(e.contains("not a catalogue row"), "{e}");
    }
}
