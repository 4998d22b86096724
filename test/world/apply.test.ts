/**
 * Applying and exporting world files, on every store backend: validation before any write,
 * one transaction, idempotence, round trips, credentials kept hashed and never exported.
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { createHash, X509Certificate } from "node:crypto";
import type { Store } from "../../src/store/index.ts";
import { ManualClock } from "../../src/domain/time.ts";
import { verifyCredential } from "../../src/identity/credentials.ts";
import { applyWorld, exportWorld, readWorldFile, WORLD_KINDS, type ApplyResult, type WorldFile, type WorldSummary } from "../../src/world/index.ts";
import { storeBackends } from "../support/stores.ts";
import { baseWorld, type Loose, APP, APP_SECRET, CUSTOMER_T, MEMBER, MEMBER_PASSWORD, GUEST, INNER_GROUP, CUSTOMER_SP } from "./fixtures.ts";

const clock = new ManualClock("2026-11-01T00:00:00Z");
const opts = { clock, actor: "test" };
const DEMO = path.resolve(import.meta.dirname, "../../src/world/demo/world.json");

function ok(result: ApplyResult): WorldSummary {
  if (!result.ok) assert.fail(`apply failed:\n${result.problems.map((p) => `${p.path}: ${p.message}`).join("\n")}`);
  return result.summary;
}

function changed(summary: WorldSummary): Record<string, unknown> {
  return Object.fromEntries(Object.entries(summary.counts).filter(([, c]) => c.created || c.updated));
}

/** Everything a world apply can touch, including credential hashes, for "nothing changed" checks. */
async function snapshot(store: Store): Promise<string> {
  const world = await exportWorld(store);
  const secrets = [];
  for (const a of world.applications ?? []) secrets.push(await store.directory.listSecrets(a.appId), await store.directory.listCertificates(a.appId));
  const hashes = [];
  for (const t of world.tenants ?? []) hashes.push((await store.directory.listUsers(t.id)).map((u) => u.passwordHash));
  return JSON.stringify({ world, secrets, hashes, status: await store.partners.listLocationStatus() });
}

for (const backend of storeBackends()) {
  describe(`world apply (${backend.name})`, () => {
    let store: Store;
    before(async () => {
      store = await backend.open();
    });
    after(async () => store.close());

    it("an invalid file changes nothing and reports every problem with its path", async () => {
      const before = await snapshot(store);
      const audit = (await store.audit.list()).length;
      const doc: Loose = baseWorld();
      doc.links[0].partnerId = "4000000";
      doc.tenants[1].roleAssignments[0].role = "Janitor";
      const result = await applyWorld(store, doc, opts);
      assert.equal(result.ok, false);
      assert.deepEqual(!result.ok && result.problems.map((p) => p.path).sort(), ["$.links[0].partnerId", "$.tenants[1].roleAssignments[0].role"]);
      assert.equal(await snapshot(store), before);
      assert.equal((await store.audit.list()).length, audit, "no audit entry for a refused file");
    });

    it("a valid file is applied: directory, partners, credentials hashed, history kept", async () => {
      const summary = ok(await applyWorld(store, baseWorld(), opts));
      assert.deepEqual(summary.counts.tenant, { created: 2, updated: 0, unchanged: 0 });
      assert.deepEqual(summary.counts.user, { created: 3, updated: 0, unchanged: 0 });
      assert.equal(summary.counts.membership.created, 4);
      const erin = await store.directory.getUser(CUSTOMER_T, MEMBER);
      assert.ok(erin?.passwordHash && erin.passwordHash !== MEMBER_PASSWORD && verifyCredential(MEMBER_PASSWORD, erin.passwordHash));
      const guest = await store.directory.getUser(CUSTOMER_T, GUEST);
      assert.equal(guest?.kind, "guest");
      assert.equal(guest?.passwordHash, null);
      const [secret] = await store.directory.listSecrets(APP);
      assert.ok(secret && secret.secretHash !== APP_SECRET && verifyCredential(APP_SECRET, secret.secretHash));
      assert.equal(await store.directory.isDisabled(CUSTOMER_T, MEMBER, Date.parse("2026-10-20T00:00:00Z")), true);
      assert.equal(await store.directory.isDisabled(CUSTOMER_T, MEMBER, Date.parse("2026-10-01T00:00:00Z")), false);
      const inner = (await store.directory.listMemberships(CUSTOMER_T)).find((m) => m.groupId === INNER_GROUP);
      assert.deepEqual([inner?.memberId, inner?.validFrom, inner?.validTo], [CUSTOMER_SP, Date.parse("2026-10-01T00:00:00Z"), null]);
      assert.equal(await store.partners.isLocationActive("4000002", clock.now()), false);
      assert.equal(await store.partners.isLocationActive("4000001", clock.now()), true);
      const entry = (await store.audit.list()).at(-1);
      assert.equal(entry?.action, "world.apply");
      assert.ok(!JSON.stringify(entry).includes(MEMBER_PASSWORD) && !JSON.stringify(entry).includes(APP_SECRET));
    });

    it("every section is applied: nothing is left in notApplied, and each kind is counted", async () => {
      const summary = ok(await applyWorld(store, baseWorld(), opts));
      assert.deepEqual(summary.notApplied, []);
      for (const k of ["managementGroup", "subscription", "resourceGroup", "roleAssignment", "registrationDefinition", "delegation", "partnerOfRecord"] as const) {
        assert.ok(summary.counts[k].unchanged > 0, `${k} should have been counted: ${JSON.stringify(summary.counts[k])}`);
      }
    });

    it("applying the same file again changes nothing: every count is unchanged and the store is identical", async () => {
      const before = await snapshot(store);
      const audit = (await store.audit.list()).length;
      const summary = ok(await applyWorld(store, baseWorld(), opts));
      assert.deepEqual(changed(summary), {});
      for (const k of WORLD_KINDS) assert.equal(summary.counts[k].created + summary.counts[k].updated, 0, k);
      assert.equal(await snapshot(store), before);
      assert.equal((await store.audit.list()).length, audit + 1, "every apply is audited, even a no-op");
    });

    it("the export round-trips: applying it to the same store changes nothing, and to an empty store rebuilds the same state", async () => {
      const exported = await exportWorld(store);
      assert.deepEqual(changed(ok(await applyWorld(store, exported, opts))), {});
      const fresh = await backend.open();
      try {
        ok(await applyWorld(fresh, exported, opts));
        assert.deepEqual(await exportWorld(fresh), exported);
      } finally {
        await fresh.close();
      }
    });

    it("the export carries no passwords, secrets or their hashes", async () => {
      const text = JSON.stringify(await exportWorld(store));
      const hashes = (await store.directory.listUsers(CUSTOMER_T)).map((u) => u.passwordHash).filter(Boolean) as string[];
      for (const s of [MEMBER_PASSWORD, APP_SECRET, "scrypt$", "sha256$", ...hashes]) assert.ok(!text.includes(s), `export leaks ${s.slice(0, 8)}…`);
      assert.ok(!/"password"|"secrets"/.test(text));
    });

    it("history in the file extends the store: a new interval is added, an open one is closed, a clash is a conflict that rolls back", async () => {
      const doc: Loose = baseWorld();
      doc.tenants[1].users[0].disabled = [{ from: "2026-10-15T00:00:00Z", to: "2026-10-25T00:00:00Z" }, { from: "2026-11-05T00:00:00Z" }];
      const summary = ok(await applyWorld(store, doc, opts));
      assert.deepEqual(summary.counts.disabledInterval, { created: 1, updated: 1, unchanged: 0 });
      assert.equal(await store.directory.isDisabled(CUSTOMER_T, MEMBER, Date.parse("2026-10-30T00:00:00Z")), false);

      const before = await snapshot(store);
      const clash: Loose = baseWorld();
      clash.tenants.push({ id: "33333333-3333-4333-8333-333333333333", displayName: "New", domain: "new.example" });
      clash.tenants[1].users[0].disabled = [{ from: "2026-10-20T00:00:00Z", to: "2026-10-22T00:00:00Z" }];
      const refused = await applyWorld(store, clash, opts);
      assert.equal(refused.ok, false);
      assert.equal(!refused.ok && refused.problems[0]?.path, "$.tenants[1].users[0].disabled[0]");
      assert.match(!refused.ok ? refused.problems[0]?.message ?? "" : "", /already in the store/);
      assert.equal(await snapshot(store), before, "the new tenant of the refused file was rolled back");
      assert.equal(await store.directory.getTenant("33333333-3333-4333-8333-333333333333"), undefined);
    });

    it("a changed password is re-hashed, an omitted one is kept", async () => {
      const doc: Loose = baseWorld();
      delete doc.tenants[1].users[0].disabled; // the previous test ended the base world's open interval
      doc.tenants[1].users[0].password = "A-New-Password-2!";
      assert.equal(ok(await applyWorld(store, doc, opts)).counts.user.updated, 1);
      const erin = await store.directory.getUser(CUSTOMER_T, MEMBER);
      assert.ok(verifyCredential("A-New-Password-2!", erin?.passwordHash ?? ""));
      delete doc.tenants[1].users[0].password;
      assert.equal(ok(await applyWorld(store, doc, opts)).counts.user.updated, 0);
      assert.ok(verifyCredential("A-New-Password-2!", (await store.directory.getUser(CUSTOMER_T, MEMBER))?.passwordHash ?? ""));
    });

    it("certificates are stored with base64url SHA-1 and SHA-256 thumbprints, once", async () => {
      const pem = readFileSync(path.join(process.env.OPENPAL_TEST_TLS_DIR ?? "", "ca.crt"), "utf8");
      const doc: Loose = baseWorld();
      delete doc.tenants[1].users[0].disabled;
      doc.applications[0].certificates = [pem];
      assert.equal(ok(await applyWorld(store, doc, opts)).counts.certificate.created, 1);
      assert.equal(ok(await applyWorld(store, doc, opts)).counts.certificate.unchanged, 1);
      const [cert] = await store.directory.listCertificates(APP);
      const der = new X509Certificate(pem).raw;
      assert.equal(cert?.thumbprintSha1, createHash("sha1").update(der).digest("base64url"));
      assert.equal(cert?.thumbprintSha256, createHash("sha256").update(der).digest("base64url"));
      const exported = await exportWorld(store);
      assert.equal(exported.applications?.find((a) => a.appId === APP)?.certificates?.length, 1);
    });

    it("subscriptions the resource store holds can be referenced: partners of record need EA there too", async () => {
      const stored = "eeeeeeee-0000-4000-8000-0000000000aa";
      await store.resources.putSubscription({ tenantId: CUSTOMER_T, id: stored, displayName: "made-by-arm", offerType: "AzurePlan" }, { at: clock.now() });
      const doc: Loose = baseWorld();
      delete doc.tenants[1].users[0].disabled;
      doc.partnersOfRecord = [{ subscriptionId: stored, partnerId: "4000001" }];
      const refused = await applyWorld(store, doc, opts);
      assert.equal(!refused.ok && refused.problems[0]?.path, "$.partnersOfRecord[0].subscriptionId");
      assert.match(!refused.ok ? refused.problems[0]?.message ?? "" : "", /AzurePlan subscription; a partner of record is set only on EA/);
      doc.partnersOfRecord = [];
      doc.tenants[1].roleAssignments.push({ principalId: MEMBER, role: "Reader", scope: `/subscriptions/${stored}` });
      ok(await applyWorld(store, doc, opts));
    });

    it("the demo world validates and applies, twice without change", async () => {
      const parsed = readWorldFile(DEMO);
      assert.ok(parsed.ok, !parsed.ok ? parsed.problems.map((p) => `${p.path}: ${p.message}`).join("\n") : "");
      const demo = (parsed as { world: WorldFile }).world;
      const s = await backend.open();
      try {
        const first = ok(await applyWorld(s, demo, opts));
        assert.deepEqual(first.warnings, []);
        assert.equal(first.counts.tenant.created, 5);
        assert.equal(first.counts.partner.created, 2);
        assert.ok(first.counts.user.created >= 10);
        assert.deepEqual(changed(ok(await applyWorld(s, demo, opts))), {});
        assert.equal((await s.partners.lookup("5100002", clock.now())).kind === "location" && !(await s.partners.isLocationActive("5100002", clock.now())), true);
      } finally {
        await s.close();
      }
    });
  });
}
