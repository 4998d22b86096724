/**
 * Who a token is for. Resolves a signing-in account to the principal it is in the tenant the
 * token is for, and re-checks that principal whenever a grant is redeemed or refreshed.
 *
 * Rules (ARCHITECTURE.md, "Identity model"):
 * - every user signs in with its HOME credentials (a member of its home tenant, with a password);
 * - in its home tenant it is itself;
 * - in another tenant where it was invited it is the guest object there (oid = guest's id), with
 *   `idp` = home issuer and `home_tid`;
 * - in a customer tenant of its home tenant (an open delegated-admin relationship) where it has no
 *   guest object, it is a FOREIGN principal: oid = its home oid, `foreign: true`;
 * - anywhere else it does not exist (AADSTS50020).
 * Disabled (an open principal_disabled interval) and deleted (deleted_at set) apply to the home
 * account and to the guest object alike.
 */
import type { DirectoryStore, Tenant, User } from "../store/index.ts";
import { verifyCredentialAsync } from "./credentials.ts";
import { oauthError } from "./errors.ts";
import type { GuessingDefence } from "./throttle.ts";

/** A user as a token subject in one tenant. */
export interface UserSubject {
  readonly tenantId: string;
  readonly objectId: string;
  readonly kind: "member" | "guest" | "foreign";
  readonly userPrincipalName: string;
  readonly displayName: string;
  readonly homeTenantId: string;
  readonly homeObjectId: string;
}

/** A reference to a home account, as grants store it. */
export interface HomeAccount {
  readonly homeTenantId: string;
  readonly homeObjectId: string;
}

export class PrincipalResolver {
  readonly #directory: DirectoryStore;
  readonly #guard: GuessingDefence | undefined;
  constructor(directory: DirectoryStore, guard?: GuessingDefence) {
    this.#directory = directory;
    this.#guard = guard;
  }

  /**
   * Checks UPN + password and resolves the account in `tenant`. The UPN may be the home UPN or
   * the guest's UPN in that tenant (`bob_contoso.example#EXT#@fabrikam.example`).
   *
   * Order: a throttled source is refused first, then a locked account (before its password is
   * checked, so guesses during a lock-out learn nothing); failures are counted for both.
   */
  async signIn(tenant: Tenant, upn: string, password: string, now: number, source?: string): Promise<UserSubject> {
    await this.#guard?.assertSourceOpen(source, "user");
    const home = await this.#homeAccountFor(tenant, upn);
    if (!home || home.deletedAt !== null) {
      await this.#guard?.sourceFailed(source);
      throw oauthError("userNotFound", `User account '${upn}' does not exist in the '${tenant.domain}' directory. To sign into this application, the account must be added to the directory.`);
    }
    const hadFailures = (await this.#guard?.assertAccountOpen(home.tenantId, home.id)) ?? false;
    // The password is checked before any state of the account is revealed.
    if (!home.passwordHash || !(await verifyCredentialAsync(password, home.passwordHash))) {
      const wrong = oauthError("invalidPassword", "Error validating credentials due to invalid username or password.");
      throw this.#guard ? await this.#guard.passwordFailed(home.tenantId, home.id, source, wrong) : wrong;
    }
    await this.#guard?.passwordSucceeded(home.tenantId, home.id, hadFailures);
    return this.resolve(tenant, { homeTenantId: home.tenantId, homeObjectId: home.id }, now);
  }

  /** Resolves a home account in `tenant`, refusing disabled or deleted accounts. */
  async resolve(tenant: Tenant, account: HomeAccount, now: number): Promise<UserSubject> {
    const home = await this.#directory.getUser(account.homeTenantId, account.homeObjectId);
    if (!home || home.deletedAt !== null) {
      throw oauthError("userNotFound", `The user account does not exist in the '${tenant.domain}' directory (it was deleted). Sign in with an existing account.`);
    }
    if (await this.#directory.isDisabled(home.tenantId, home.id, now)) {
      throw oauthError("userDisabled", `The user account '${home.userPrincipalName}' is disabled. Ask an administrator of its directory to enable it.`);
    }
    if (home.tenantId === tenant.id) {
      return subject(tenant.id, home, "member", home);
    }
    const guest = await this.#directory.findGuestOf(tenant.id, home.tenantId, home.id);
    if (guest) {
      if (guest.deletedAt !== null) {
        throw oauthError("userNotFound", `User account '${home.userPrincipalName}' was removed from the '${tenant.domain}' directory. Ask its administrator to invite the account again.`);
      }
      if (await this.#directory.isDisabled(tenant.id, guest.id, now)) {
        throw oauthError("userDisabled", `The guest account of '${home.userPrincipalName}' in '${tenant.domain}' is disabled. Ask an administrator of '${tenant.domain}' to enable it.`);
      }
      return subject(tenant.id, guest, "guest", home);
    }
    if (await this.#directory.hasDelegatedAdmin(tenant.id, home.tenantId, now)) {
      return subject(tenant.id, home, "foreign", home);
    }
    const homeTenant = await this.#directory.getTenant(home.tenantId);
    throw oauthError("userNotInTenant", `User account '${home.userPrincipalName}' from identity provider '${homeTenant?.domain ?? home.tenantId}' does not exist in tenant '${tenant.displayName}' and cannot access the application in that tenant. The account needs to be added as an external user in the tenant first.`);
  }

  async #homeAccountFor(tenant: Tenant, upn: string): Promise<User | undefined> {
    const inTenant = await this.#directory.findUserByUpn(tenant.id, upn);
    if (inTenant?.kind === "member") return inTenant;
    if (inTenant?.kind === "guest" && inTenant.homeTenantId && inTenant.homeObjectId) {
      return this.#directory.getUser(inTenant.homeTenantId, inTenant.homeObjectId);
    }
    return this.#directory.findMemberByUpn(upn);
  }
}

function subject(tenantId: string, object: User, kind: UserSubject["kind"], home: User): UserSubject {
  return {
    tenantId,
    objectId: object.id,
    kind,
    // Guests and foreign principals are shown with their home UPN, as Entra's tokens do.
    userPrincipalName: home.userPrincipalName,
    displayName: object.displayName || home.displayName,
    homeTenantId: home.tenantId,
    homeObjectId: home.id,
  };
}
