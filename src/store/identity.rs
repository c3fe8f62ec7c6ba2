//! The identity plane's tables: users inside tenants (a tenant is an emulator organization, named
//! by its slug) and organizations inside tenants, sessions with their refresh tokens, roles and
//! their permissions, role assignments, failed logins and the token signing key.
//!
//! Only storage lives here. The rules (how long a lock lasts, how many failures make one, when a
//! token or an assignment has expired) are the plane's: every instant this file compares against
//! is passed in by the caller, as an RFC 3339 UTC string with milliseconds (the one format the
//! emulator writes, so such strings compare in time order).

use rusqlite::{params, params_from_iter, Connection, OptionalExtension, Row};
use serde::Serialize;

use super::{Store, StoreError};

/// Migration 5: the identity plane's tables, its permission catalogue and the two system roles.
/// System roles have no tenant (`tenant IS NULL`): every tenant sees the same immutable rows.
pub const MIGRATION: &str = r#"
    CREATE TABLE identity_signing_key (
        id          INTEGER PRIMARY KEY CHECK (id = 1),
        secret      BLOB NOT NULL,
        created_at  TEXT NOT NULL
    );
    CREATE TABLE identity_organizations (
        id          TEXT PRIMARY KEY,
        tenant      TEXT NOT NULL,
        name        TEXT NOT NULL,
        created_at  TEXT NOT NULL,
        UNIQUE (tenant, name)
    );
    CREATE TABLE identity_users (
        id              TEXT PRIMARY KEY,
        tenant          TEXT NOT NULL,
        organization_id TEXT REFERENCES identity_organizations(id),
        email           TEXT NOT NULL,
        -- Lower-cased: login takes only an email, so an address names one user platform-wide.
        email_key       TEXT NOT NULL UNIQUE,
        password_hash   TEXT NOT NULL,
        first_name      TEXT NOT NULL,
        last_name       TEXT NOT NULL,
        status          TEXT NOT NULL DEFAULT 'ACTIVE',
        locked_until    TEXT,
        created_at      TEXT NOT NULL,
        updated_at      TEXT NOT NULL
    );
    CREATE INDEX identity_users_tenant ON identity_users(tenant, created_at);
    CREATE TABLE identity_login_failures (
        user_id  TEXT NOT NULL REFERENCES identity_users(id) ON DELETE CASCADE,
        at       TEXT NOT NULL
    );
    CREATE INDEX identity_login_failures_user ON identity_login_failures(user_id, at);
    -- One login = one session; its refresh tokens rotate inside it, its access tokens name it.
    CREATE TABLE identity_sessions (
        id          TEXT PRIMARY KEY,
        user_id     TEXT NOT NULL REFERENCES identity_users(id) ON DELETE CASCADE,
        created_at  TEXT NOT NULL,
        revoked_at  TEXT
    );
    -- Only the SHA-256 of a refresh token is kept.
    CREATE TABLE identity_refresh_tokens (
        hash        TEXT PRIMARY KEY,
        session_id  TEXT NOT NULL REFERENCES identity_sessions(id) ON DELETE CASCADE,
        expires_at  TEXT NOT NULL,
        used_at     TEXT
    );
    CREATE TABLE identity_permissions (
        id        TEXT PRIMARY KEY,
        resource  TEXT NOT NULL,
        action    TEXT NOT NULL,
        UNIQUE (resource, action)
    );
    CREATE TABLE identity_roles (
        id           TEXT PRIMARY KEY,
        tenant       TEXT,
        name         TEXT NOT NULL,
        description  TEXT,
        scope_level  TEXT NOT NULL,
        parent_id    TEXT REFERENCES identity_roles(id),
        is_system    INTEGER NOT NULL DEFAULT 0,
        created_at   TEXT NOT NULL,
        updated_at   TEXT NOT NULL
    );
    CREATE INDEX identity_roles_tenant ON identity_roles(tenant, name);
    CREATE TABLE identity_role_permissions (
        role_id        TEXT NOT NULL REFERENCES identity_roles(id) ON DELETE CASCADE,
        permission_id  TEXT NOT NULL REFERENCES identity_permissions(id),
        PRIMARY KEY (role_id, permission_id)
    );
    CREATE TABLE identity_role_assignments (
        id               TEXT PRIMARY KEY,
        tenant           TEXT NOT NULL,
        user_id          TEXT NOT NULL REFERENCES identity_users(id) ON DELETE CASCADE,
        role_id          TEXT NOT NULL REFERENCES identity_roles(id),
        organization_id  TEXT REFERENCES identity_organizations(id),
        expires_at       TEXT,
        created_at       TEXT NOT NULL
    );
    CREATE INDEX identity_role_assignments_user ON identity_role_assignments(user_id);
    CREATE INDEX identity_role_assignments_role ON identity_role_assignments(role_id);

    INSERT INTO identity_permissions (id, resource, action) VALUES
        ('00000000-0000-4000-8000-000000000001', 'users', 'create'),
        ('00000000-0000-4000-8000-000000000002', 'users', 'read'),
        ('00000000-0000-4000-8000-000000000003', 'users', 'update'),
        ('00000000-0000-4000-8000-000000000004', 'users', 'delete'),
        ('00000000-0000-4000-8000-000000000005', 'users', 'suspend'),
        ('00000000-0000-4000-8000-000000000006', 'roles', 'create'),
        ('00000000-0000-4000-8000-000000000007', 'roles', 'read'),
        ('00000000-0000-4000-8000-000000000008', 'roles', 'update'),
        ('00000000-0000-4000-8000-000000000009', 'roles', 'delete'),
        ('00000000-0000-4000-8000-00000000000a', 'role-assignments', 'create'),
        ('00000000-0000-4000-8000-00000000000b', 'role-assignments', 'read'),
        ('00000000-0000-4000-8000-00000000000c', 'role-assignments', 'delete'),
        ('00000000-0000-4000-8000-00000000000d', 'organizations', 'create'),
        ('00000000-0000-4000-8000-00000000000e', 'organizations', 'read');
    INSERT INTO identity_roles (id, tenant, name, description, scope_level, parent_id, is_system, created_at, updated_at)
    VALUES
        ('00000000-0000-4000-8000-0000000000a1', NULL, 'TENANT_ADMIN',
         'Every permission within the tenant', 'TENANT', NULL, 1,
         strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
        ('00000000-0000-4000-8000-0000000000a2', NULL, 'ORG_ADMIN',
         'Manages the users of one organization', 'ORGANIZATION', NULL, 1,
         strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));
    INSERT INTO identity_role_permissions (role_id, permission_id)
        SELECT '00000000-0000-4000-8000-0000000000a1', id FROM identity_permissions;
    INSERT INTO identity_role_permissions (role_id, permission_id)
        SELECT '00000000-0000-4000-8000-0000000000a2', id FROM identity_permissions
        WHERE resource = 'users';
"#;

/// What `Store::wipe` removes of the identity plane: everything a tenant made. The permission
/// catalogue, the system roles and the signing key stay (tokens signed before a reset still
/// verify; they name users that no longer exist, so they are refused as invalid).
pub const WIPE_SQL: &str = "
    DELETE FROM identity_role_assignments;
    DELETE FROM identity_refresh_tokens;
    DELETE FROM identity_sessions;
    DELETE FROM identity_login_failures;
    DELETE FROM identity_users;
    DELETE FROM identity_roles WHERE is_system = 0;
    DELETE FROM identity_organizations;
";

/// The system role every tenant's first registered user is given.
pub const TENANT_ADMIN_ROLE_ID: &str = "00000000-0000-4000-8000-0000000000a1";

/// `status` of a user who may sign in.
pub const ACTIVE: &str = "ACTIVE";
/// `status` of a user an administrator suspended.
pub const SUSPENDED: &str = "SUSPENDED";

#[derive(Debug, Clone, Serialize)]
pub struct IdentityUser {
    pub id: String,
    /// The tenant: an emulator organization's slug.
    pub tenant: String,
    pub organization_id: Option<String>,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    /// [`ACTIVE`] or [`SUSPENDED`].
    pub status: String,
    /// Set when enough failed logins locked the account; compare with the clock.
    pub locked_until: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

const USER_COLUMNS: &str =
    "u.id, u.tenant, u.organization_id, u.email, u.first_name, u.last_name, \
     u.status, u.locked_until, u.created_at, u.updated_at";

fn user_from(r: &Row<'_>) -> rusqlite::Result<IdentityUser> {
    Ok(IdentityUser {
        id: r.get(0)?,
        tenant: r.get(1)?,
        organization_id: r.get(2)?,
        email: r.get(3)?,
        first_name: r.get(4)?,
        last_name: r.get(5)?,
        status: r.get(6)?,
        locked_until: r.get(7)?,
        created_at: r.get(8)?,
        updated_at: r.get(9)?,
    })
}

#[derive(Debug, Clone, Serialize)]
pub struct IdentityOrganization {
    pub id: String,
    pub tenant: String,
    pub name: String,
    pub created_at: String,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct IdentityPermission {
    pub id: String,
    pub resource: String,
    pub action: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct IdentityRole {
    pub id: String,
    /// `None` for a system role (shared by every tenant).
    pub tenant: Option<String>,
    pub name: String,
    pub description: Option<String>,
    /// `PLATFORM`, `TENANT` or `ORGANIZATION`.
    pub scope_level: String,
    pub parent_id: Option<String>,
    pub is_system: bool,
    pub created_at: String,
    pub updated_at: String,
    pub permissions: Vec<IdentityPermission>,
}

#[derive(Debug, Clone, Serialize)]
pub struct IdentityAssignment {
    pub id: String,
    pub tenant: String,
    pub user_id: String,
    pub role_id: String,
    pub organization_id: Option<String>,
    pub expires_at: Option<String>,
    pub created_at: String,
}

const ASSIGNMENT_COLUMNS: &str =
    "a.id, a.tenant, a.user_id, a.role_id, a.organization_id, a.expires_at, a.created_at";

fn assignment_from(r: &Row<'_>) -> rusqlite::Result<IdentityAssignment> {
    Ok(IdentityAssignment {
        id: r.get(0)?,
        tenant: r.get(1)?,
        user_id: r.get(2)?,
        role_id: r.get(3)?,
        organization_id: r.get(4)?,
        expires_at: r.get(5)?,
        created_at: r.get(6)?,
    })
}

/// One permission a user holds through an active assignment, as `resource:action`, limited to
/// an organization when the assignment names one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub permission: String,
    pub organization_id: Option<String>,
}

/// What a user may do: how many assignments are in force (a user with none "may not act at
/// all") and the permissions they carry.
#[derive(Debug, Clone, Default)]
pub struct Access {
    pub assignments: u32,
    pub grants: Vec<Grant>,
}

/// One page of a list and the number of items on all pages.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: u64,
}

/// Why a write was not made (the caller words the answer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentityRefusal {
    /// Another user has this email.
    EmailTaken,
    /// Another role or organization of the tenant (or a system role) has this name.
    NameTaken,
    /// The same role is already assigned to the user (for the same organization).
    AlreadyAssigned,
    NotFound,
    /// System roles cannot be changed or deleted.
    System,
    /// The role has assignments in force.
    Assigned,
    /// Other roles name the role as their parent.
    Parent,
}

pub struct NewUser {
    pub tenant: String,
    pub organization_id: Option<String>,
    pub email: String,
    pub password_hash: String,
    pub first_name: String,
    pub last_name: String,
    /// Self-registration: the tenant's first user is given [`TENANT_ADMIN_ROLE_ID`].
    pub bootstrap: bool,
    pub now: String,
}

/// Fields of a user to change; `None` leaves a field as it is.
#[derive(Default)]
pub struct UserChanges {
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// `Some(None)` takes the user out of its organization.
    pub organization_id: Option<Option<String>>,
}

pub struct UserQuery {
    pub tenant: String,
    /// Only users of these organizations (a caller whose permission is limited to them).
    pub within: Option<Vec<String>>,
    pub organization_id: Option<String>,
    pub status: Option<String>,
    /// Part of the email or the name, any case.
    pub search: Option<String>,
    pub page: u32,
    pub limit: u32,
}

pub struct NewRole {
    pub tenant: String,
    pub name: String,
    pub description: Option<String>,
    pub scope_level: String,
    pub parent_id: Option<String>,
    pub permission_ids: Vec<String>,
    pub now: String,
}

#[derive(Default)]
pub struct RoleChanges {
    pub name: Option<String>,
    pub description: Option<Option<String>>,
    pub scope_level: Option<String>,
    pub parent_id: Option<Option<String>>,
    pub permission_ids: Option<Vec<String>>,
}

pub struct RoleQuery {
    pub tenant: String,
    pub scope_level: Option<String>,
    pub search: Option<String>,
    pub page: u32,
    pub limit: u32,
}

pub struct NewAssignment {
    pub tenant: String,
    pub user_id: String,
    pub role_id: String,
    pub organization_id: Option<String>,
    pub expires_at: Option<String>,
    pub now: String,
}

pub struct AssignmentQuery {
    pub tenant: String,
    pub within: Option<Vec<String>>,
    pub user_id: Option<String>,
    pub role_id: Option<String>,
    pub organization_id: Option<String>,
    pub page: u32,
    pub limit: u32,
}

/// What a refresh token was good for.
#[derive(Debug, Clone)]
pub enum Refreshed {
    /// Unknown, used, expired, or its session ended.
    Invalid,
    /// The user is suspended; the token was not used up.
    Suspended,
    /// The token is used up; the new one replaces it in the same session. (Boxed: the other
    /// variants are empty.)
    Rotated {
        user: Box<IdentityUser>,
        session_id: String,
    },
}

/// `%term%` for LIKE, with the wildcards of the term itself escaped (`ESCAPE '\'`).
fn like(term: &str) -> String {
    let mut s = String::from("%");
    for ch in term.to_lowercase().chars() {
        if matches!(ch, '%' | '_' | '\\') {
            s.push('\\');
        }
        s.push(ch);
    }
    s.push('%');
    s
}

/// `LIMIT .. OFFSET ..` of a 1-based page (numbers, never user text, go into the SQL).
fn window(page: u32, limit: u32) -> String {
    let offset = u64::from(page.max(1) - 1) * u64::from(limit);
    format!(" LIMIT {limit} OFFSET {offset}")
}

/// `?, ?, ?` for `n` parameters.
fn marks(n: usize) -> String {
    vec!["?"; n].join(", ")
}

fn count(c: &Connection, sql: &str, args: &[String]) -> rusqlite::Result<u64> {
    c.query_row(sql, params_from_iter(args.iter()), |r| r.get::<_, i64>(0))
        .map(|n| n.max(0) as u64)
}

fn user_by_id(
    c: &Connection,
    id: &str,
    tenant: Option<&str>,
) -> rusqlite::Result<Option<IdentityUser>> {
    c.query_row(
        &format!(
            "SELECT {USER_COLUMNS} FROM identity_users u WHERE u.id = ?1 AND (?2 IS NULL OR u.tenant = ?2)"
        ),
        params![id, tenant],
        user_from,
    )
    .optional()
}

fn email_taken(c: &Connection, key: &str, except: Option<&str>) -> rusqlite::Result<bool> {
    c.query_row(
        "SELECT EXISTS(SELECT 1 FROM identity_users WHERE email_key = ?1 AND (?2 IS NULL OR id <> ?2))",
        params![key, except],
        |r| r.get(0),
    )
}

fn permissions_of(c: &Connection, role_id: &str) -> rusqlite::Result<Vec<IdentityPermission>> {
    let mut stmt = c.prepare_cached(
        "SELECT p.id, p.resource, p.action FROM identity_role_permissions rp
         JOIN identity_permissions p ON p.id = rp.permission_id
         WHERE rp.role_id = ?1 ORDER BY p.id",
    )?;
    let rows = stmt.query_map([role_id], |r| {
        Ok(IdentityPermission {
            id: r.get(0)?,
            resource: r.get(1)?,
            action: r.get(2)?,
        })
    })?;
    rows.collect()
}

const ROLE_COLUMNS: &str =
    "r.id, r.tenant, r.name, r.description, r.scope_level, r.parent_id, r.is_system, r.created_at, r.updated_at";

fn role_from(r: &Row<'_>) -> rusqlite::Result<IdentityRole> {
    Ok(IdentityRole {
        id: r.get(0)?,
        tenant: r.get(1)?,
        name: r.get(2)?,
        description: r.get(3)?,
        scope_level: r.get(4)?,
        parent_id: r.get(5)?,
        is_system: r.get(6)?,
        created_at: r.get(7)?,
        updated_at: r.get(8)?,
        permissions: Vec::new(),
    })
}

/// A role the tenant can see (its own, or a system role), with its permissions.
fn role_by_id(c: &Connection, tenant: &str, id: &str) -> rusqlite::Result<Option<IdentityRole>> {
    let role = c
        .query_row(
            &format!(
                "SELECT {ROLE_COLUMNS} FROM identity_roles r
                 WHERE r.id = ?1 AND (r.tenant IS NULL OR r.tenant = ?2)"
            ),
            params![id, tenant],
            role_from,
        )
        .optional()?;
    match role {
        Some(mut r) => {
            r.permissions = permissions_of(c, &r.id)?;
            Ok(Some(r))
        }
        None => Ok(None),
    }
}

fn role_name_taken(
    c: &Connection,
    tenant: &str,
    name: &str,
    except: Option<&str>,
) -> rusqlite::Result<bool> {
    c.query_row(
        "SELECT EXISTS(SELECT 1 FROM identity_roles
            WHERE (tenant IS NULL OR tenant = ?1) AND lower(name) = lower(?2) AND (?3 IS NULL OR id <> ?3))",
        params![tenant, name, except],
        |r| r.get(0),
    )
}

fn set_permissions(c: &Connection, role_id: &str, ids: &[String]) -> rusqlite::Result<()> {
    c.execute(
        "DELETE FROM identity_role_permissions WHERE role_id = ?1",
        [role_id],
    )?;
    let mut stmt = c.prepare_cached(
        "INSERT OR IGNORE INTO identity_role_permissions (role_id, permission_id) VALUES (?1, ?2)",
    )?;
    for p in ids {
        stmt.execute(params![role_id, p])?;
    }
    Ok(())
}

impl Store {
    // --- signing key -------------------------------------------------------------------------

    /// The key access tokens are signed with: the one kept in the state, or `fresh` (kept from
    /// now on) when there is none yet, so tokens survive a restart.
    pub async fn identity_signing_key(
        &self,
        fresh: Vec<u8>,
        now: String,
    ) -> Result<Vec<u8>, StoreError> {
        self.call(move |c| {
            c.execute(
                "INSERT OR IGNORE INTO identity_signing_key (id, secret, created_at) VALUES (1, ?1, ?2)",
                params![fresh, now],
            )?;
            c.query_row("SELECT secret FROM identity_signing_key WHERE id = 1", [], |r| r.get(0))
        })
        .await
    }

    // --- users -------------------------------------------------------------------------------

    pub async fn identity_email_taken(&self, email: &str) -> Result<bool, StoreError> {
        let key = email.to_lowercase();
        self.call(move |c| email_taken(c, &key, None)).await
    }

    /// Creates a user (and, for a tenant's first self-registered user, its TENANT_ADMIN
    /// assignment) in one transaction: the email check and the insert cannot interleave.
    pub async fn identity_create_user(
        &self,
        new: NewUser,
    ) -> Result<Result<IdentityUser, IdentityRefusal>, StoreError> {
        self.call(move |c| {
            let key = new.email.to_lowercase();
            if email_taken(c, &key, None)? {
                return Ok(Err(IdentityRefusal::EmailTaken));
            }
            let first: bool = c.query_row(
                "SELECT NOT EXISTS(SELECT 1 FROM identity_users WHERE tenant = ?1)",
                [&new.tenant],
                |r| r.get(0),
            )?;
            let id = uuid::Uuid::new_v4().to_string();
            c.execute(
                "INSERT INTO identity_users (id, tenant, organization_id, email, email_key, password_hash,
                    first_name, last_name, status, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'ACTIVE', ?9, ?9)",
                params![
                    id,
                    new.tenant,
                    new.organization_id,
                    new.email,
                    key,
                    new.password_hash,
                    new.first_name,
                    new.last_name,
                    new.now
                ],
            )?;
            if new.bootstrap && first {
                c.execute(
                    "INSERT INTO identity_role_assignments (id, tenant, user_id, role_id, organization_id, expires_at, created_at)
                     VALUES (?1, ?2, ?3, ?4, NULL, NULL, ?5)",
                    params![uuid::Uuid::new_v4().to_string(), new.tenant, id, TENANT_ADMIN_ROLE_ID, new.now],
                )?;
            }
            Ok(user_by_id(c, &id, None)?.ok_or(IdentityRefusal::NotFound))
        })
        .await
    }

    /// The user with this id; with `tenant`, only if it belongs to that tenant.
    pub async fn identity_user(
        &self,
        id: &str,
        tenant: Option<&str>,
    ) -> Result<Option<IdentityUser>, StoreError> {
        let (id, tenant) = (id.to_string(), tenant.map(str::to_string));
        self.call(move |c| user_by_id(c, &id, tenant.as_deref()))
            .await
    }

    /// The user an email names (any case) and its password hash, for login.
    pub async fn identity_credentials(
        &self,
        email: &str,
    ) -> Result<Option<(IdentityUser, String)>, StoreError> {
        let key = email.trim().to_lowercase();
        self.call(move |c| {
            c.query_row(
                &format!("SELECT {USER_COLUMNS}, u.password_hash FROM identity_users u WHERE u.email_key = ?1"),
                [key],
                |r| Ok((user_from(r)?, r.get::<_, String>(10)?)),
            )
            .optional()
        })
        .await
    }

    /// One page of a tenant's users, oldest first.
    pub async fn identity_users(&self, q: UserQuery) -> Result<Page<IdentityUser>, StoreError> {
        self.call(move |c| {
            let mut cond = vec!["u.tenant = ?".to_string()];
            let mut args = vec![q.tenant.clone()];
            if let Some(orgs) = &q.within {
                cond.push(format!("u.organization_id IN ({})", marks(orgs.len().max(1))));
                if orgs.is_empty() {
                    args.push(String::new());
                }
                args.extend(orgs.iter().cloned());
            }
            if let Some(o) = &q.organization_id {
                cond.push("u.organization_id = ?".into());
                args.push(o.clone());
            }
            if let Some(s) = &q.status {
                cond.push("u.status = ?".into());
                args.push(s.clone());
            }
            if let Some(term) = &q.search {
                cond.push(
                    "(u.email_key LIKE ? ESCAPE '\\' OR lower(u.first_name) LIKE ? ESCAPE '\\' OR lower(u.last_name) LIKE ? ESCAPE '\\')"
                        .into(),
                );
                let t = like(term);
                args.extend([t.clone(), t.clone(), t]);
            }
            let filter = cond.join(" AND ");
            let total = count(c, &format!("SELECT COUNT(*) FROM identity_users u WHERE {filter}"), &args)?;
            let mut stmt = c.prepare(&format!(
                "SELECT {USER_COLUMNS} FROM identity_users u WHERE {filter} ORDER BY u.created_at, u.id{}",
                window(q.page, q.limit)
            ))?;
            let items = stmt
                .query_map(params_from_iter(args.iter()), user_from)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(Page { items, total })
        })
        .await
    }

    /// Every user (of one tenant, or of all), for the admin API.
    pub async fn identity_all_users(
        &self,
        tenant: Option<String>,
    ) -> Result<Vec<IdentityUser>, StoreError> {
        self.call(move |c| {
            let mut stmt = c.prepare(&format!(
                "SELECT {USER_COLUMNS} FROM identity_users u WHERE ?1 IS NULL OR u.tenant = ?1
                 ORDER BY u.tenant, u.created_at, u.id"
            ))?;
            let rows = stmt.query_map([tenant], user_from)?;
            rows.collect()
        })
        .await
    }

    pub async fn identity_update_user(
        &self,
        tenant: &str,
        id: &str,
        changes: UserChanges,
        now: String,
    ) -> Result<Result<IdentityUser, IdentityRefusal>, StoreError> {
        let (tenant, id) = (tenant.to_string(), id.to_string());
        self.call(move |c| {
            if user_by_id(c, &id, Some(&tenant))?.is_none() {
                return Ok(Err(IdentityRefusal::NotFound));
            }
            if let Some(email) = &changes.email {
                let key = email.to_lowercase();
                if email_taken(c, &key, Some(&id))? {
                    return Ok(Err(IdentityRefusal::EmailTaken));
                }
                c.execute(
                    "UPDATE identity_users SET email = ?2, email_key = ?3 WHERE id = ?1",
                    params![id, email, key],
                )?;
            }
            if let Some(v) = &changes.first_name {
                c.execute(
                    "UPDATE identity_users SET first_name = ?2 WHERE id = ?1",
                    params![id, v],
                )?;
            }
            if let Some(v) = &changes.last_name {
                c.execute(
                    "UPDATE identity_users SET last_name = ?2 WHERE id = ?1",
                    params![id, v],
                )?;
            }
            if let Some(v) = &changes.organization_id {
                c.execute(
                    "UPDATE identity_users SET organization_id = ?2 WHERE id = ?1",
                    params![id, v],
                )?;
            }
            c.execute(
                "UPDATE identity_users SET updated_at = ?2 WHERE id = ?1",
                params![id, now],
            )?;
            Ok(user_by_id(c, &id, None)?.ok_or(IdentityRefusal::NotFound))
        })
        .await
    }

    /// Deletes a user with its sessions, tokens, failures and assignments; false when the
    /// tenant has no such user.
    pub async fn identity_delete_user(&self, tenant: &str, id: &str) -> Result<bool, StoreError> {
        let (tenant, id) = (tenant.to_string(), id.to_string());
        self.call(move |c| {
            Ok(c.execute(
                "DELETE FROM identity_users WHERE id = ?1 AND tenant = ?2",
                params![id, tenant],
            )? > 0)
        })
        .await
    }

    /// Sets a user's status ([`ACTIVE`] or [`SUSPENDED`]); `tenant` limits it to one tenant.
    pub async fn identity_set_status(
        &self,
        id: &str,
        tenant: Option<&str>,
        status: &'static str,
        now: String,
    ) -> Result<Option<IdentityUser>, StoreError> {
        let (id, tenant) = (id.to_string(), tenant.map(str::to_string));
        self.call(move |c| {
            let n = c.execute(
                "UPDATE identity_users SET status = ?3, updated_at = ?4 WHERE id = ?1 AND (?2 IS NULL OR tenant = ?2)",
                params![id, tenant, status, now],
            )?;
            if n == 0 {
                return Ok(None);
            }
            user_by_id(c, &id, None)
        })
        .await
    }

    // --- lockout -----------------------------------------------------------------------------

    /// Records a failed login at `at`, forgets failures at or before `window_start`, and when
    /// `threshold` failures remain in the window sets `locked_until`. Returns whether it did.
    pub async fn identity_login_failed(
        &self,
        user_id: &str,
        at: String,
        window_start: String,
        threshold: u32,
        locked_until: String,
    ) -> Result<bool, StoreError> {
        let user_id = user_id.to_string();
        self.call(move |c| {
            c.execute(
                "DELETE FROM identity_login_failures WHERE user_id = ?1 AND at <= ?2",
                params![user_id, window_start],
            )?;
            c.execute(
                "INSERT INTO identity_login_failures (user_id, at) VALUES (?1, ?2)",
                params![user_id, at],
            )?;
            let n: i64 = c.query_row(
                "SELECT COUNT(*) FROM identity_login_failures WHERE user_id = ?1",
                [&user_id],
                |r| r.get(0),
            )?;
            if n >= i64::from(threshold) {
                c.execute(
                    "UPDATE identity_users SET locked_until = ?2 WHERE id = ?1",
                    params![user_id, locked_until],
                )?;
                return Ok(true);
            }
            Ok(false)
        })
        .await
    }

    /// Forgets a user's failed logins and lock (a successful login, or an administrator's
    /// unlock). False when there is no such user.
    pub async fn identity_clear_failures(&self, user_id: &str) -> Result<bool, StoreError> {
        let user_id = user_id.to_string();
        self.call(move |c| {
            c.execute(
                "DELETE FROM identity_login_failures WHERE user_id = ?1",
                [&user_id],
            )?;
            Ok(c.execute(
                "UPDATE identity_users SET locked_until = NULL WHERE id = ?1",
                [&user_id],
            )? > 0)
        })
        .await
    }

    /// Failed logins kept for a user (those inside the current window).
    pub async fn identity_failure_count(&self, user_id: &str) -> Result<u32, StoreError> {
        let user_id = user_id.to_string();
        self.call(move |c| {
            c.query_row(
                "SELECT COUNT(*) FROM identity_login_failures WHERE user_id = ?1",
                [user_id],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n.clamp(0, i64::from(u32::MAX)) as u32)
        })
        .await
    }

    // --- sessions and refresh tokens ---------------------------------------------------------

    /// Starts a session for a login and keeps the hash of its first refresh token.
    pub async fn identity_start_session(
        &self,
        user_id: &str,
        session_id: &str,
        refresh_hash: String,
        refresh_expires_at: String,
        now: String,
    ) -> Result<(), StoreError> {
        let (user_id, session_id) = (user_id.to_string(), session_id.to_string());
        self.call(move |c| {
            c.execute(
                "INSERT INTO identity_sessions (id, user_id, created_at) VALUES (?1, ?2, ?3)",
                params![session_id, user_id, now],
            )?;
            c.execute(
                "INSERT INTO identity_refresh_tokens (hash, session_id, expires_at) VALUES (?1, ?2, ?3)",
                params![refresh_hash, session_id, refresh_expires_at],
            )?;
            Ok(())
        })
        .await
    }

    /// Uses up the refresh token whose hash is `old_hash` and keeps `new_hash` in its place
    /// (rotation: a token works once).
    pub async fn identity_rotate_refresh(
        &self,
        old_hash: String,
        new_hash: String,
        new_expires_at: String,
        now: String,
    ) -> Result<Refreshed, StoreError> {
        self.call(move |c| {
            let found = c
                .query_row(
                    "SELECT t.session_id, t.expires_at, t.used_at, s.revoked_at, s.user_id
                     FROM identity_refresh_tokens t JOIN identity_sessions s ON s.id = t.session_id
                     WHERE t.hash = ?1",
                    [&old_hash],
                    |r| {
                        Ok((
                            r.get::<_, String>(0)?,
                            r.get::<_, String>(1)?,
                            r.get::<_, Option<String>>(2)?,
                            r.get::<_, Option<String>>(3)?,
                            r.get::<_, String>(4)?,
                        ))
                    },
                )
                .optional()?;
            let Some((session_id, expires_at, used_at, revoked_at, user_id)) = found else {
                return Ok(Refreshed::Invalid);
            };
            if used_at.is_some() || revoked_at.is_some() || expires_at <= now {
                return Ok(Refreshed::Invalid);
            }
            let Some(user) = user_by_id(c, &user_id, None)? else {
                return Ok(Refreshed::Invalid);
            };
            if user.status == SUSPENDED {
                return Ok(Refreshed::Suspended);
            }
            c.execute(
                "UPDATE identity_refresh_tokens SET used_at = ?2 WHERE hash = ?1",
                params![old_hash, now],
            )?;
            c.execute(
                "INSERT INTO identity_refresh_tokens (hash, session_id, expires_at) VALUES (?1, ?2, ?3)",
                params![new_hash, session_id, new_expires_at],
            )?;
            Ok(Refreshed::Rotated {
                user: Box::new(user),
                session_id,
            })
        })
        .await
    }

    /// Ends a session: its refresh tokens and access tokens stop working.
    pub async fn identity_end_session(
        &self,
        session_id: &str,
        now: String,
    ) -> Result<(), StoreError> {
        let session_id = session_id.to_string();
        self.call(move |c| {
            c.execute(
                "UPDATE identity_sessions SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
                params![session_id, now],
            )?;
            Ok(())
        })
        .await
    }

    /// The user an access token names, if its session is still open, and what the user may do
    /// at `now` (one round trip per authenticated request).
    pub async fn identity_principal(
        &self,
        user_id: &str,
        tenant: &str,
        session_id: &str,
        now: String,
    ) -> Result<Option<(IdentityUser, Access)>, StoreError> {
        let (user_id, tenant, session_id) = (
            user_id.to_string(),
            tenant.to_string(),
            session_id.to_string(),
        );
        self.call(move |c| {
            let open: bool = c.query_row(
                "SELECT EXISTS(SELECT 1 FROM identity_sessions WHERE id = ?1 AND user_id = ?2 AND revoked_at IS NULL)",
                params![session_id, user_id],
                |r| r.get(0),
            )?;
            if !open {
                return Ok(None);
            }
            let Some(user) = user_by_id(c, &user_id, Some(&tenant))? else {
                return Ok(None);
            };
            let assignments: i64 = c.query_row(
                "SELECT COUNT(*) FROM identity_role_assignments
                 WHERE user_id = ?1 AND (expires_at IS NULL OR expires_at > ?2)",
                params![user_id, now],
                |r| r.get(0),
            )?;
            let mut stmt = c.prepare_cached(
                "SELECT DISTINCT p.resource || ':' || p.action, a.organization_id
                 FROM identity_role_assignments a
                 JOIN identity_role_permissions rp ON rp.role_id = a.role_id
                 JOIN identity_permissions p ON p.id = rp.permission_id
                 WHERE a.user_id = ?1 AND (a.expires_at IS NULL OR a.expires_at > ?2)",
            )?;
            let grants = stmt
                .query_map(params![user_id, now], |r| {
                    Ok(Grant {
                        permission: r.get(0)?,
                        organization_id: r.get(1)?,
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(Some((
                user,
                Access {
                    assignments: assignments.clamp(0, i64::from(u32::MAX)) as u32,
                    grants,
                },
            )))
        })
        .await
    }

    // --- organizations -----------------------------------------------------------------------

    pub async fn identity_create_org(
        &self,
        tenant: &str,
        name: &str,
        now: String,
    ) -> Result<Result<IdentityOrganization, IdentityRefusal>, StoreError> {
        let org = IdentityOrganization {
            id: uuid::Uuid::new_v4().to_string(),
            tenant: tenant.to_string(),
            name: name.to_string(),
            created_at: now,
        };
        self.call(move |c| {
            let taken: bool = c.query_row(
                "SELECT EXISTS(SELECT 1 FROM identity_organizations WHERE tenant = ?1 AND lower(name) = lower(?2))",
                params![org.tenant, org.name],
                |r| r.get(0),
            )?;
            if taken {
                return Ok(Err(IdentityRefusal::NameTaken));
            }
            c.execute(
                "INSERT INTO identity_organizations (id, tenant, name, created_at) VALUES (?1, ?2, ?3, ?4)",
                params![org.id, org.tenant, org.name, org.created_at],
            )?;
            Ok(Ok(org))
        })
        .await
    }

    pub async fn identity_org(
        &self,
        tenant: &str,
        id: &str,
    ) -> Result<Option<IdentityOrganization>, StoreError> {
        let (tenant, id) = (tenant.to_string(), id.to_string());
        self.call(move |c| {
            c.query_row(
                "SELECT id, tenant, name, created_at FROM identity_organizations WHERE id = ?1 AND tenant = ?2",
                params![id, tenant],
                |r| {
                    Ok(IdentityOrganization {
                        id: r.get(0)?,
                        tenant: r.get(1)?,
                        name: r.get(2)?,
                        created_at: r.get(3)?,
                    })
                },
            )
            .optional()
        })
        .await
    }

    pub async fn identity_orgs(
        &self,
        tenant: &str,
        page: u32,
        limit: u32,
    ) -> Result<Page<IdentityOrganization>, StoreError> {
        let tenant = tenant.to_string();
        self.call(move |c| {
            let args = vec![tenant];
            let total = count(
                c,
                "SELECT COUNT(*) FROM identity_organizations WHERE tenant = ?",
                &args,
            )?;
            let mut stmt = c.prepare(&format!(
                "SELECT id, tenant, name, created_at FROM identity_organizations WHERE tenant = ?
                 ORDER BY created_at, id{}",
                window(page, limit)
            ))?;
            let items = stmt
                .query_map(params_from_iter(args.iter()), |r| {
                    Ok(IdentityOrganization {
                        id: r.get(0)?,
                        tenant: r.get(1)?,
                        name: r.get(2)?,
                        created_at: r.get(3)?,
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(Page { items, total })
        })
        .await
    }

    // --- permissions and roles ---------------------------------------------------------------

    /// The permission catalogue.
    pub async fn identity_permissions(&self) -> Result<Vec<IdentityPermission>, StoreError> {
        self.call(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT id, resource, action FROM identity_permissions ORDER BY id",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok(IdentityPermission {
                    id: r.get(0)?,
                    resource: r.get(1)?,
                    action: r.get(2)?,
                })
            })?;
            rows.collect()
        })
        .await
    }

    pub async fn identity_role(
        &self,
        tenant: &str,
        id: &str,
    ) -> Result<Option<IdentityRole>, StoreError> {
        let (tenant, id) = (tenant.to_string(), id.to_string());
        self.call(move |c| role_by_id(c, &tenant, &id)).await
    }

    /// One page of the roles a tenant sees (system roles first, then its own by name).
    pub async fn identity_roles(&self, q: RoleQuery) -> Result<Page<IdentityRole>, StoreError> {
        self.call(move |c| {
            let mut cond = vec!["(r.tenant IS NULL OR r.tenant = ?)".to_string()];
            let mut args = vec![q.tenant.clone()];
            if let Some(s) = &q.scope_level {
                cond.push("r.scope_level = ?".into());
                args.push(s.clone());
            }
            if let Some(term) = &q.search {
                cond.push("(lower(r.name) LIKE ? ESCAPE '\\' OR lower(COALESCE(r.description, '')) LIKE ? ESCAPE '\\')".into());
                let t = like(term);
                args.extend([t.clone(), t]);
            }
            let filter = cond.join(" AND ");
            let total = count(c, &format!("SELECT COUNT(*) FROM identity_roles r WHERE {filter}"), &args)?;
            let mut stmt = c.prepare(&format!(
                "SELECT {ROLE_COLUMNS} FROM identity_roles r WHERE {filter}
                 ORDER BY r.is_system DESC, r.name, r.id{}",
                window(q.page, q.limit)
            ))?;
            let mut items = stmt
                .query_map(params_from_iter(args.iter()), role_from)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            for r in &mut items {
                r.permissions = permissions_of(c, &r.id)?;
            }
            Ok(Page { items, total })
        })
        .await
    }

    pub async fn identity_create_role(
        &self,
        new: NewRole,
    ) -> Result<Result<IdentityRole, IdentityRefusal>, StoreError> {
        self.call(move |c| {
            if role_name_taken(c, &new.tenant, &new.name, None)? {
                return Ok(Err(IdentityRefusal::NameTaken));
            }
            let id = uuid::Uuid::new_v4().to_string();
            c.execute(
                "INSERT INTO identity_roles (id, tenant, name, description, scope_level, parent_id, is_system, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0, ?7, ?7)",
                params![id, new.tenant, new.name, new.description, new.scope_level, new.parent_id, new.now],
            )?;
            set_permissions(c, &id, &new.permission_ids)?;
            Ok(role_by_id(c, &new.tenant, &id)?.ok_or(IdentityRefusal::NotFound))
        })
        .await
    }

    pub async fn identity_update_role(
        &self,
        tenant: &str,
        id: &str,
        changes: RoleChanges,
        now: String,
    ) -> Result<Result<IdentityRole, IdentityRefusal>, StoreError> {
        let (tenant, id) = (tenant.to_string(), id.to_string());
        self.call(move |c| {
            let Some(role) = role_by_id(c, &tenant, &id)? else {
                return Ok(Err(IdentityRefusal::NotFound));
            };
            if role.is_system {
                return Ok(Err(IdentityRefusal::System));
            }
            if let Some(name) = &changes.name {
                if role_name_taken(c, &tenant, name, Some(&id))? {
                    return Ok(Err(IdentityRefusal::NameTaken));
                }
                c.execute(
                    "UPDATE identity_roles SET name = ?2 WHERE id = ?1",
                    params![id, name],
                )?;
            }
            if let Some(v) = &changes.description {
                c.execute(
                    "UPDATE identity_roles SET description = ?2 WHERE id = ?1",
                    params![id, v],
                )?;
            }
            if let Some(v) = &changes.scope_level {
                c.execute(
                    "UPDATE identity_roles SET scope_level = ?2 WHERE id = ?1",
                    params![id, v],
                )?;
            }
            if let Some(v) = &changes.parent_id {
                c.execute(
                    "UPDATE identity_roles SET parent_id = ?2 WHERE id = ?1",
                    params![id, v],
                )?;
            }
            if let Some(ids) = &changes.permission_ids {
                set_permissions(c, &id, ids)?;
            }
            c.execute(
                "UPDATE identity_roles SET updated_at = ?2 WHERE id = ?1",
                params![id, now],
            )?;
            Ok(role_by_id(c, &tenant, &id)?.ok_or(IdentityRefusal::NotFound))
        })
        .await
    }

    /// Deletes a tenant's role unless assignments in force at `now` or child roles name it;
    /// expired assignments go with it.
    pub async fn identity_delete_role(
        &self,
        tenant: &str,
        id: &str,
        now: String,
    ) -> Result<Result<(), IdentityRefusal>, StoreError> {
        let (tenant, id) = (tenant.to_string(), id.to_string());
        self.call(move |c| {
            let Some(role) = role_by_id(c, &tenant, &id)? else {
                return Ok(Err(IdentityRefusal::NotFound));
            };
            if role.is_system {
                return Ok(Err(IdentityRefusal::System));
            }
            let active: bool = c.query_row(
                "SELECT EXISTS(SELECT 1 FROM identity_role_assignments
                    WHERE role_id = ?1 AND (expires_at IS NULL OR expires_at > ?2))",
                params![id, now],
                |r| r.get(0),
            )?;
            if active {
                return Ok(Err(IdentityRefusal::Assigned));
            }
            let parent: bool = c.query_row(
                "SELECT EXISTS(SELECT 1 FROM identity_roles WHERE parent_id = ?1)",
                [&id],
                |r| r.get(0),
            )?;
            if parent {
                return Ok(Err(IdentityRefusal::Parent));
            }
            c.execute(
                "DELETE FROM identity_role_assignments WHERE role_id = ?1",
                [&id],
            )?;
            c.execute("DELETE FROM identity_roles WHERE id = ?1", [&id])?;
            Ok(Ok(()))
        })
        .await
    }

    // --- role assignments --------------------------------------------------------------------

    pub async fn identity_create_assignment(
        &self,
        new: NewAssignment,
    ) -> Result<Result<IdentityAssignment, IdentityRefusal>, StoreError> {
        self.call(move |c| {
            let dup: bool = c.query_row(
                "SELECT EXISTS(SELECT 1 FROM identity_role_assignments
                    WHERE user_id = ?1 AND role_id = ?2 AND organization_id IS ?3
                      AND (expires_at IS NULL OR expires_at > ?4))",
                params![new.user_id, new.role_id, new.organization_id, new.now],
                |r| r.get(0),
            )?;
            if dup {
                return Ok(Err(IdentityRefusal::AlreadyAssigned));
            }
            let a = IdentityAssignment {
                id: uuid::Uuid::new_v4().to_string(),
                tenant: new.tenant,
                user_id: new.user_id,
                role_id: new.role_id,
                organization_id: new.organization_id,
                expires_at: new.expires_at,
                created_at: new.now,
            };
            c.execute(
                "INSERT INTO identity_role_assignments (id, tenant, user_id, role_id, organization_id, expires_at, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![a.id, a.tenant, a.user_id, a.role_id, a.organization_id, a.expires_at, a.created_at],
            )?;
            Ok(Ok(a))
        })
        .await
    }

    pub async fn identity_assignment(
        &self,
        tenant: &str,
        id: &str,
    ) -> Result<Option<IdentityAssignment>, StoreError> {
        let (tenant, id) = (tenant.to_string(), id.to_string());
        self.call(move |c| {
            c.query_row(
                &format!("SELECT {ASSIGNMENT_COLUMNS} FROM identity_role_assignments a WHERE a.id = ?1 AND a.tenant = ?2"),
                params![id, tenant],
                assignment_from,
            )
            .optional()
        })
        .await
    }

    pub async fn identity_assignments(
        &self,
        q: AssignmentQuery,
    ) -> Result<Page<IdentityAssignment>, StoreError> {
        self.call(move |c| {
            let mut cond = vec!["a.tenant = ?".to_string()];
            let mut args = vec![q.tenant.clone()];
            if let Some(orgs) = &q.within {
                cond.push(format!(
                    "a.organization_id IN ({})",
                    marks(orgs.len().max(1))
                ));
                if orgs.is_empty() {
                    args.push(String::new());
                }
                args.extend(orgs.iter().cloned());
            }
            for (column, value) in [
                ("a.user_id", &q.user_id),
                ("a.role_id", &q.role_id),
                ("a.organization_id", &q.organization_id),
            ] {
                if let Some(v) = value {
                    cond.push(format!("{column} = ?"));
                    args.push(v.clone());
                }
            }
            let filter = cond.join(" AND ");
            let total = count(
                c,
                &format!("SELECT COUNT(*) FROM identity_role_assignments a WHERE {filter}"),
                &args,
            )?;
            let mut stmt = c.prepare(&format!(
                "SELECT {ASSIGNMENT_COLUMNS} FROM identity_role_assignments a WHERE {filter}
                 ORDER BY a.created_at, a.id{}",
                window(q.page, q.limit)
            ))?;
            let items = stmt
                .query_map(params_from_iter(args.iter()), assignment_from)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(Page { items, total })
        })
        .await
    }

    pub async fn identity_delete_assignment(
        &self,
        tenant: &str,
        id: &str,
    ) -> Result<bool, StoreError> {
        let (tenant, id) = (tenant.to_string(), id.to_string());
        self.call(move |c| {
            Ok(c.execute(
                "DELETE FROM identity_role_assignments WHERE id = ?1 AND tenant = ?2",
                params![id, tenant],
            )? > 0)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_escapes_wildcards() {
        assert_eq!(like("A_b%"), "%a\\_b\\%%");
    }

    #[test]
    fn pages_become_windows() {
        assert_eq!(window(1, 20), " LIMIT 20 OFFSET 0");
        assert_eq!(window(3, 10), " LIMIT 10 OFFSET 20");
        assert_eq!(window(0, 10), " LIMIT 10 OFFSET 0");
    }

    #[test]
    fn the_migration_seeds_both_system_roles() {
        let c = Connection::open_in_memory().unwrap();
        c.execute_batch("PRAGMA foreign_keys = ON;").unwrap();
        c.execute_batch(MIGRATION).unwrap();
        let admin = role_by_id(&c, "acme", TENANT_ADMIN_ROLE_ID)
            .unwrap()
            .unwrap();
        assert!(admin.is_system);
        assert_eq!(admin.permissions.len(), 14);
        let org = role_by_id(&c, "acme", "00000000-0000-4000-8000-0000000000a2")
            .unwrap()
            .unwrap();
        assert!(org.permissions.iter().all(|p| p.resource == "users"));
        assert_eq!(org.permissions.len(), 5);
        c.execute_batch(WIPE_SQL).unwrap();
        assert!(role_by_id(&c, "acme", TENANT_ADMIN_ROLE_ID)
            .unwrap()
            .is_some());
    }
}
