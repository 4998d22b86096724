/**
 * The control-plane schema, as kysely table types. One schema, two dialects (SQLite, PostgreSQL).
 *
 * Conventions (ARCHITECTURE.md):
 * - times are epoch milliseconds (`bigint` in PostgreSQL, `integer` in SQLite);
 * - every mutable fact is effective-dated with `valid_from` / `valid_to` (null = since always /
 *   still so); a change closes the open row and opens a new one in one transaction;
 * - tables lead with `tenant_id` where a tenant owns the row, so they shard by tenant;
 * - booleans are stored as 0/1 integers, which both dialects accept.
 */
import type { Generated } from "kysely";

export interface TenantsTable {
  id: string;
  display_name: string;
  domain: string;
  created_at: number;
}

export interface ApplicationsTable {
  app_id: string;
  /** Directory object id (Graph's `id`); null for applications loaded before it existed. */
  object_id: string | null;
  display_name: string;
  home_tenant_id: string;
  created_at: number;
  deleted_at: number | null;
}

export interface ApplicationSecretsTable {
  app_id: string;
  key_id: string;
  /** scrypt hash "salt:hash" (hex); the secret itself is never stored. */
  secret_hash: string;
  /** First three characters, as Entra ID shows them. */
  hint: string;
  display_name: string | null;
  created_at: number;
  expires_at: number | null;
}

export interface ApplicationCertificatesTable {
  app_id: string;
  key_id: string;
  /** base64url SHA-1 thumbprint (the `x5t` header of client assertions). */
  thumbprint_sha1: string;
  /** base64url SHA-256 thumbprint (`x5t#S256`). */
  thumbprint_sha256: string;
  certificate_pem: string;
  created_at: number;
  expires_at: number | null;
}

export interface UsersTable {
  tenant_id: string;
  id: string;
  user_principal_name: string;
  /** Lower-cased UPN, for case-insensitive sign-in. */
  upn_lower: string;
  display_name: string;
  /** "member" | "guest" */
  kind: string;
  password_hash: string | null;
  home_tenant_id: string | null;
  home_object_id: string | null;
  created_at: number;
  deleted_at: number | null;
}

export interface ServicePrincipalsTable {
  tenant_id: string;
  id: string;
  app_id: string;
  display_name: string;
  created_at: number;
  deleted_at: number | null;
}

export interface GroupsTable {
  tenant_id: string;
  id: string;
  display_name: string;
  created_at: number;
  deleted_at: number | null;
}

export interface GroupMembersTable {
  seq: Generated<number>;
  tenant_id: string;
  group_id: string;
  member_id: string;
  valid_from: number | null;
  valid_to: number | null;
}

/** Intervals during which a principal (user or service principal) was disabled. */
export interface PrincipalDisabledTable {
  seq: Generated<number>;
  tenant_id: string;
  object_id: string;
  valid_from: number | null;
  valid_to: number | null;
}

/** CSP / GDAP relationships: users of `partner_tenant_id` act in `tenant_id` as foreign principals. */
export interface DelegatedAdminsTable {
  seq: Generated<number>;
  tenant_id: string;
  partner_tenant_id: string;
  valid_from: number | null;
  valid_to: number | null;
}

export interface SigningKeysTable {
  kid: string;
  alg: string;
  private_jwk: string;
  public_jwk: string;
  created_at: number;
  /** When the key stopped signing (null while it is the active key). */
  retired_at: number | null;
  /** Until when the public key stays in the JWKS (retired_at + longest token lifetime). */
  publish_until: number | null;
}

/** Short-lived grants of the token service: refresh tokens, device codes, authorization codes. */
export interface GrantsTable {
  tenant_id: string;
  /** SHA-256 (hex) of the secret handle; the handle itself is never stored. */
  handle_hash: string;
  /** "refresh_token" | "device_code" | "authorization_code" */
  kind: string;
  client_id: string;
  /** Device flow: the code the user types. */
  user_code: string | null;
  /** "pending" | "approved" | "denied" | "redeemed" | "revoked" */
  status: string;
  object_id: string | null;
  /** JSON: scope, redirect URI, PKCE challenge, nonce… */
  details: string;
  created_at: number;
  expires_at: number;
  /** The token family (0009): revoked together when a used member is presented again. */
  family_id: string | null;
}

/** Failure counters against credential guessing (0009), shared by every server on the store. */
export interface CredentialThrottleTable {
  key: string;
  failures: number;
  window_started_at: number;
  locked_until: number;
  lockouts: number;
}

export interface PartnersTable {
  global_id: string;
  name: string;
  created_at: number;
}

export interface PartnerTenantsTable {
  global_id: string;
  tenant_id: string;
}

export interface PartnerLocationsTable {
  id: string;
  global_id: string;
  country: string | null;
  name: string | null;
  created_at: number;
}

/** Effective-dated activity of a partner location id. */
export interface PartnerLocationStatusTable {
  seq: Generated<number>;
  location_id: string;
  active: number;
  valid_from: number | null;
  valid_to: number | null;
}

/** Entra directory role membership (e.g. Global Administrator), effective-dated. */
export interface DirectoryRoleMembersTable {
  seq: Generated<number>;
  tenant_id: string;
  role_template_id: string;
  object_id: string;
  valid_from: number | null;
  valid_to: number | null;
}

export interface AuditLogTable {
  seq: Generated<number>;
  at: number;
  tenant_id: string | null;
  actor_tenant_id: string | null;
  actor_object_id: string | null;
  action: string;
  target: string;
  request_id: string | null;
  /** JSON object; never holds secrets or tokens. */
  details: string;
}

export interface Database {
  tenants: TenantsTable;
  applications: ApplicationsTable;
  application_secrets: ApplicationSecretsTable;
  application_certificates: ApplicationCertificatesTable;
  users: UsersTable;
  service_principals: ServicePrincipalsTable;
  groups: GroupsTable;
  group_members: GroupMembersTable;
  principal_disabled: PrincipalDisabledTable;
  delegated_admins: DelegatedAdminsTable;
  signing_keys: SigningKeysTable;
  grants: GrantsTable;
  credential_throttle: CredentialThrottleTable;
  partners: PartnersTable;
  partner_tenants: PartnerTenantsTable;
  partner_locations: PartnerLocationsTable;
  partner_location_status: PartnerLocationStatusTable;
  audit_log: AuditLogTable;
  directory_role_members: DirectoryRoleMembersTable;
}
