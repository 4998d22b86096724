/**
 * A small directory for the identity tests, seeded through the store aggregates:
 *
 *   Contoso (partner, home of alice, erin and the automation app)
 *   Fabrikam (customer): bob@contoso is a guest; carol is disabled; dave is deleted;
 *                        the automation app has a service principal; a disabled app's SP
 *   Northwind (customer of Contoso under a delegated-admin relationship): no guests
 *   Tailspin: unrelated (no relationship, no guests, no service principals)
 */
import { X509CertificateGenerator, cryptoProvider } from "@peculiar/x509";
import { webcrypto } from "node:crypto";
import type { Store } from "../../src/store/index.ts";
import { hashClientSecret, hashPassword, certificateThumbprints } from "../../src/identity/index.ts";

export const T = {
  contoso: { id: "c0000000-0000-4000-8000-000000000001", displayName: "Contoso", domain: "contoso.example" },
  fabrikam: { id: "f0000000-0000-4000-8000-000000000002", displayName: "Fabrikam", domain: "fabrikam.example" },
  northwind: { id: "a0000000-0000-4000-8000-000000000003", displayName: "Northwind", domain: "northwind.example" },
  tailspin: { id: "b0000000-0000-4000-8000-000000000004", displayName: "Tailspin", domain: "tailspin.example" },
} as const;

export const U = {
  alice: { id: "00000000-0000-4000-8000-0000000a11ce", upn: "alice@contoso.example", password: "Alice-Passw0rd!" },
  erin: { id: "00000000-0000-4000-8000-000000000e21", upn: "erin@contoso.example", password: "Erin-Passw0rd!" },
  bob: { id: "00000000-0000-4000-8000-000000000b0b", upn: "bob@contoso.example", password: "Bob-Passw0rd!" },
  bobGuest: { id: "00000000-0000-4000-8000-0000000b0b65", upn: "bob_contoso.example#EXT#@fabrikam.example" },
  carol: { id: "00000000-0000-4000-8000-0000000ca201", upn: "carol@fabrikam.example", password: "Carol-Passw0rd!" },
  dave: { id: "00000000-0000-4000-8000-0000000da7e0", upn: "dave@fabrikam.example", password: "Dave-Passw0rd!" },
} as const;

export const APP = {
  automation: { appId: "a1a1a1a1-0000-4000-8000-000000000001", secret: "automation-secret-0123456789abcdefghijkl", spContoso: "5b000000-0000-4000-8000-00000000c001", spFabrikam: "5b000000-0000-4000-8000-00000000f001" },
  disabled: { appId: "a2a2a2a2-0000-4000-8000-000000000002", secret: "disabled-secret-0123456789abcdefghijklmn", spFabrikam: "5b000000-0000-4000-8000-00000000f002" },
  certified: { appId: "a3a3a3a3-0000-4000-8000-000000000003", spContoso: "5b000000-0000-4000-8000-00000000c003" },
} as const;

export const T0 = Date.parse("2026-01-01T00:00:00Z");

/** A self-signed RSA certificate and its key, as PEM (what ClientCertificateCredential reads). */
export async function selfSignedCertificate(commonName: string): Promise<{ certificatePem: string; privateKeyPem: string }> {
  cryptoProvider.set(webcrypto as unknown as Parameters<typeof cryptoProvider.set>[0]);
  const alg = { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256", publicExponent: new Uint8Array([1, 0, 1]), modulusLength: 2048 };
  const keys = await webcrypto.subtle.generateKey(alg, true, ["sign", "verify"]);
  const cert = await X509CertificateGenerator.createSelfSigned({
    serialNumber: "01", name: `CN=${commonName}`, notBefore: new Date(Date.now() - 3600_000), notAfter: new Date(Date.now() + 86400_000), keys, signingAlgorithm: alg,
  });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey("pkcs8", keys.privateKey));
  const privateKeyPem = `-----BEGIN PRIVATE KEY-----\n${pkcs8.toString("base64").replace(/(.{64})/g, "$1\n").trim()}\n-----END PRIVATE KEY-----\n`;
  return { certificatePem: cert.toString("pem"), privateKeyPem };
}

/** Seeds the directory above. Returns the certificate (with its key) registered on the certified app. */
export async function seedDirectory(store: Store): Promise<{ certificatePem: string; privateKeyPem: string }> {
  const d = store.directory;
  for (const t of Object.values(T)) await d.putTenant({ ...t, createdAt: T0 });
  const member = (tenantId: string, u: { id: string; upn: string; password: string }, name: string) =>
    d.putUser({ tenantId, id: u.id, userPrincipalName: u.upn, displayName: name, kind: "member", passwordHash: hashPassword(u.password), homeTenantId: null, homeObjectId: null, createdAt: T0, deletedAt: null });
  await member(T.contoso.id, U.alice, "Alice Contoso");
  await member(T.contoso.id, U.erin, "Erin Contoso");
  await member(T.contoso.id, U.bob, "Bob Contoso");
  await member(T.fabrikam.id, U.carol, "Carol Fabrikam");
  await member(T.fabrikam.id, U.dave, "Dave Fabrikam");
  await d.putUser({ tenantId: T.fabrikam.id, id: U.bobGuest.id, userPrincipalName: U.bobGuest.upn, displayName: "Bob (Contoso)", kind: "guest", passwordHash: null, homeTenantId: T.contoso.id, homeObjectId: U.bob.id, createdAt: T0, deletedAt: null });
  await d.disable(T.fabrikam.id, U.carol.id, T0);
  await d.markUserDeleted(T.fabrikam.id, U.dave.id, T0);
  await d.addDelegatedAdmin({ tenantId: T.northwind.id, partnerTenantId: T.contoso.id, validFrom: T0, validTo: null });

  await d.putApplication({ appId: APP.automation.appId, displayName: "contoso-pal-automation", homeTenantId: T.contoso.id, createdAt: T0, deletedAt: null });
  await d.addSecret({ appId: APP.automation.appId, keyId: "k-automation", secretHash: hashClientSecret(APP.automation.secret), hint: "aut", displayName: "ci", createdAt: T0, expiresAt: null });
  await d.putServicePrincipal({ tenantId: T.contoso.id, id: APP.automation.spContoso, appId: APP.automation.appId, displayName: "contoso-pal-automation", createdAt: T0, deletedAt: null });
  await d.putServicePrincipal({ tenantId: T.fabrikam.id, id: APP.automation.spFabrikam, appId: APP.automation.appId, displayName: "contoso-pal-automation", createdAt: T0, deletedAt: null });

  await d.putApplication({ appId: APP.disabled.appId, displayName: "disabled-app", homeTenantId: T.fabrikam.id, createdAt: T0, deletedAt: null });
  await d.addSecret({ appId: APP.disabled.appId, keyId: "k-disabled", secretHash: hashClientSecret(APP.disabled.secret), hint: "dis", displayName: null, createdAt: T0, expiresAt: null });
  await d.putServicePrincipal({ tenantId: T.fabrikam.id, id: APP.disabled.spFabrikam, appId: APP.disabled.appId, displayName: "disabled-app", createdAt: T0, deletedAt: null });
  await d.disable(T.fabrikam.id, APP.disabled.spFabrikam, T0);

  const cert = await selfSignedCertificate("contoso-cert-app");
  const thumbprints = certificateThumbprints(cert.certificatePem);
  await d.putApplication({ appId: APP.certified.appId, displayName: "contoso-cert-app", homeTenantId: T.contoso.id, createdAt: T0, deletedAt: null });
  await d.addCertificate({ appId: APP.certified.appId, keyId: "k-cert", thumbprintSha1: thumbprints.sha1, thumbprintSha256: thumbprints.sha256, certificatePem: cert.certificatePem, createdAt: T0, expiresAt: null });
  await d.putServicePrincipal({ tenantId: T.contoso.id, id: APP.certified.spContoso, appId: APP.certified.appId, displayName: "contoso-cert-app", createdAt: T0, deletedAt: null });
  return cert;
}

/** Decodes a JWT's payload without verifying it (tests verify separately). */
export function claimsOf(token: string): Record<string, unknown> {
  const part = token.split(".")[1] ?? "";
  return JSON.parse(Buffer.from(part, "base64url").toString("utf8")) as Record<string, unknown>;
}

export const ARM_SCOPE = "https://management.azure.com/.default";
export const ARM_AUDIENCE = "https://management.azure.com/";
