//! Who is calling and what they may do: the bearer token of a request becomes a [`Caller`]
//! (or the problem that says why not), and every protected route asks the caller for the
//! permission it needs.
//!
//! A caller with no role assignment in force may not act at all (`forbidden`); a caller with
//! some role but not the permission gets `insufficient-permissions` naming it. A grant through
//! an assignment that names an organization counts only for that organization's resources.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

use super::plane::Plane;
use super::problem::Problem;
use super::tokens::{bearer, Checked};
use crate::domain::app::App;
use crate::store::identity::{Access, IdentityUser, SUSPENDED};

pub(crate) struct Caller {
    pub user: IdentityUser,
    pub session_id: String,
    pub access: Access,
}

impl FromRequestParts<Arc<App>> for Caller {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, Problem> {
        let plane = parts
            .extensions
            .get::<Arc<Plane>>()
            .cloned()
            .ok_or_else(|| Problem::new("P-internal"))?;
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        // No credentials at all, or not a bearer token: authentication is required.
        let token = header
            .and_then(bearer)
            .ok_or_else(|| Problem::new("P-unauthorized"))?;
        let keys = plane.keys(app).await?;
        let now = app.clock.now();
        let claims = match keys.check(token, now) {
            Checked::Valid(c) => c,
            Checked::Expired => return Err(Problem::new("P-expired")),
            Checked::Invalid => return Err(Problem::new("P-invalid-token")),
        };
        // A well-signed token whose user, tenant or session is gone (deleted, logged out, a
        // reset) is as good as a forged one.
        let found = app
            .store
            .identity_principal(
                &claims.sub,
                &claims.tid,
                &claims.sid,
                super::input::stamp(now),
            )
            .await?;
        let Some((user, access)) = found else {
            return Err(Problem::new("P-invalid-token"));
        };
        if user.status == SUSPENDED {
            return Err(Problem::new("P-suspended"));
        }
        Ok(Caller {
            user,
            session_id: claims.sid,
            access,
        })
    }
}

/// Which organizations a permission reaches for a caller.
pub(crate) enum Reach {
    /// The whole tenant.
    Tenant,
    /// Only these organizations (never empty).
    Organizations(Vec<String>),
}

impl Caller {
    pub(crate) fn tenant(&self) -> &str {
        &self.user.tenant
    }

    fn refuse(&self, permission: &str) -> Problem {
        if self.access.assignments == 0 {
            Problem::new("P-forbidden")
        } else {
            Problem::new("P-permission").detail(format!("Required permission: {permission}"))
        }
    }

    /// Where `permission` reaches, or the refusal when it reaches nowhere.
    pub(crate) fn reach(&self, permission: &str) -> Result<Reach, Problem> {
        let mut orgs = Vec::new();
        for g in self
            .access
            .grants
            .iter()
            .filter(|g| g.permission == permission)
        {
            match &g.organization_id {
                None => return Ok(Reach::Tenant),
                Some(o) if !orgs.contains(o) => orgs.push(o.clone()),
                Some(_) => {}
            }
        }
        if orgs.is_empty() {
            Err(self.refuse(permission))
        } else {
            Ok(Reach::Organizations(orgs))
        }
    }

    /// `permission` over the whole tenant.
    pub(crate) fn require_tenant(&self, permission: &str) -> Result<(), Problem> {
        match self.reach(permission)? {
            Reach::Tenant => Ok(()),
            Reach::Organizations(_) => Err(self.refuse(permission)),
        }
    }

    /// `permission` over a resource of `organization` (`None`: a resource of the tenant
    /// outside any organization, which only a tenant-wide grant reaches).
    pub(crate) fn require(
        &self,
        permission: &str,
        organization: Option<&str>,
    ) -> Result<(), Problem> {
        match (self.reach(permission)?, organization) {
            (Reach::Tenant, _) => Ok(()),
            (Reach::Organizations(orgs), Some(o)) if orgs.iter().any(|x| x == o) => Ok(()),
            _ => Err(self.refuse(permission)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::identity::Grant;

    fn caller(assignments: u32, grants: &[(&str, Option<&str>)]) -> Caller {
        Caller {
            user: IdentityUser {
                id: "u".into(),
                tenant: "acme".into(),
                organization_id: None,
                email: "a@b.c".into(),
                first_name: "A".into(),
                last_name: "B".into(),
                status: "ACTIVE".into(),
                locked_until: None,
                created_at: String::new(),
                updated_at: String::new(),
            },
            session_id: "s".into(),
            access: Access {
                assignments,
                grants: grants
                    .iter()
                    .map(|(p, o)| Grant {
                        permission: p.to_string(),
                        organization_id: o.map(str::to_string),
                    })
                    .collect(),
            },
        }
    }

    #[test]
    fn no_role_is_forbidden_a_missing_permission_is_named() {
        assert_eq!(
            caller(0, &[]).require_tenant("users:read").unwrap_err().id,
            "P-forbidden"
        );
        let p = caller(1, &[("users:read", None)])
            .require_tenant("users:create")
            .unwrap_err();
        assert_eq!(p.id, "P-permission");
        assert_eq!(
            p.detail.as_deref(),
            Some("Required permission: users:create")
        );
    }

    #[test]
    fn organization_grants_reach_their_organization_only() {
        let c = caller(1, &[("users:read", Some("o1"))]);
        assert!(c.require("users:read", Some("o1")).is_ok());
        assert!(c.require("users:read", Some("o2")).is_err());
        assert!(c.require("users:read", None).is_err());
        assert!(c.require_tenant("users:read").is_err());
        assert!(matches!(c.reach("users:read"), Ok(Reach::Organizations(o)) if o == ["o1"]));
    }
}
