//! The plane's JSON for its resources: camelCase keys, the documented ones first in the
//! documented order (`user{id,email,firstName,lastName,tenantId,status,createdAt}`), the
//! emulator's additions after them.

use serde_json::{json, Value};

use crate::store::identity::{
    IdentityAssignment, IdentityOrganization, IdentityPermission, IdentityRole, IdentityUser,
};

pub(crate) fn user(u: &IdentityUser) -> Value {
    json!({
        "id": u.id,
        "email": u.email,
        "firstName": u.first_name,
        "lastName": u.last_name,
        "tenantId": u.tenant,
        "status": u.status,
        "createdAt": u.created_at,
        "organizationId": u.organization_id,
        "updatedAt": u.updated_at,
    })
}

pub(crate) fn permission(p: &IdentityPermission) -> Value {
    json!({"id": p.id, "resource": p.resource, "action": p.action})
}

pub(crate) fn role(r: &IdentityRole) -> Value {
    json!({
        "id": r.id,
        "name": r.name,
        "description": r.description,
        "scopeLevel": r.scope_level,
        "parentId": r.parent_id,
        "isSystem": r.is_system,
        "tenantId": r.tenant,
        "permissions": r.permissions.iter().map(permission).collect::<Vec<_>>(),
        "createdAt": r.created_at,
        "updatedAt": r.updated_at,
    })
}

pub(crate) fn assignment(a: &IdentityAssignment) -> Value {
    json!({
        "id": a.id,
        "userId": a.user_id,
        "roleId": a.role_id,
        "organizationId": a.organization_id,
        "expiresAt": a.expires_at,
        "tenantId": a.tenant,
        "createdAt": a.created_at,
    })
}

pub(crate) fn organization(o: &IdentityOrganization) -> Value {
    json!({"id": o.id, "name": o.name, "tenantId": o.tenant, "createdAt": o.created_at})
}
