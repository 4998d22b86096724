/**
 * HTTPS by default: on first start, a local certificate authority and a leaf certificate for
 * localhost, 127.0.0.1 and ::1 are generated into the data dir and reused after. Clients trust the
 * CA with NODE_EXTRA_CA_CERTS (Node), REQUESTS_CA_BUNDLE (az CLI), or the system store.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { webcrypto, X509Certificate } from "node:crypto";
import "reflect-metadata"; // @peculiar/x509 needs it, and it must load first
import * as x509 from "@peculiar/x509";

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

export interface TlsMaterial {
  readonly cert: string;
  readonly key: string;
  /** Absolute path of the CA certificate clients should trust, when generated. */
  readonly caCertPath: string | undefined;
  readonly generated: boolean;
}

const ALG = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;
const DAY = 24 * 60 * 60 * 1000;
/** How Node prints the leaf's subject alternative names; a leaf lacking one is replaced. */
const LEAF_SAN_ENTRIES = ["DNS:localhost", "IP Address:127.0.0.1", "IP Address:0:0:0:0:0:0:0:1"];

function pemKey(der: ArrayBuffer): string {
  const b64 = Buffer.from(der).toString("base64").replace(/(.{64})/g, "$1\n").replace(/\n$/, "");
  return `-----BEGIN PRIVATE KEY-----\n${b64}\n-----END PRIVATE KEY-----\n`;
}

function leafStillGood(certPem: string, now: number): boolean {
  try {
    const cert = new X509Certificate(certPem);
    const san = (cert.subjectAltName ?? "").split(", ");
    return Date.parse(cert.validTo) - now > 30 * DAY && LEAF_SAN_ENTRIES.every((n) => san.includes(n));
  } catch {
    return false;
  }
}

async function generate(dir: string, now: number): Promise<void> {
  const caKeys = (await webcrypto.subtle.generateKey(ALG, true, ["sign", "verify"])) as webcrypto.CryptoKeyPair;
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: Date.now().toString(16),
    name: "CN=OpenPAL local development CA",
    notBefore: new Date(now - DAY),
    notAfter: new Date(now + 10 * 365 * DAY),
    keys: caKeys,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });
  const leafKeys = (await webcrypto.subtle.generateKey(ALG, true, ["sign", "verify"])) as webcrypto.CryptoKeyPair;
  const leaf = await x509.X509CertificateGenerator.create({
    serialNumber: (Date.now() + 1).toString(16),
    subject: "CN=localhost",
    issuer: ca.subject,
    notBefore: new Date(now - DAY),
    // Browsers refuse leaf certificates valid for more than 398 days.
    notAfter: new Date(now + 397 * DAY),
    signingKey: caKeys.privateKey,
    publicKey: leafKeys.publicKey,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth], false),
      new x509.SubjectAlternativeNameExtension([
        { type: "dns", value: "localhost" },
        { type: "ip", value: "127.0.0.1" },
        { type: "ip", value: "::1" },
      ]),
      await x509.AuthorityKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, "ca.crt"), ca.toString("pem") + "\n");
  writeFileSync(path.join(dir, "ca.key"), pemKey(await webcrypto.subtle.exportKey("pkcs8", caKeys.privateKey)), { mode: 0o600 });
  writeFileSync(path.join(dir, "server.crt"), leaf.toString("pem") + "\n" + ca.toString("pem") + "\n");
  writeFileSync(path.join(dir, "server.key"), pemKey(await webcrypto.subtle.exportKey("pkcs8", leafKeys.privateKey)), { mode: 0o600 });
}

/**
 * The certificate to serve: the user's own (`--cert/--key`), or the generated one under
 * `<dataDir>/tls/`, created on first use and renewed when it nears expiry.
 */
export async function loadTlsMaterial(opts: { dataDir: string; cert?: string; key?: string; now?: number }): Promise<TlsMaterial> {
  if (opts.cert && opts.key) {
    for (const [flag, file] of [["--cert", opts.cert], ["--key", opts.key]] as const) {
      if (!existsSync(file)) throw new Error(`${flag}: file ${file} does not exist; give a PEM file or drop ${flag} to use the generated certificate.`);
    }
    return { cert: readFileSync(opts.cert, "utf8"), key: readFileSync(opts.key, "utf8"), caCertPath: undefined, generated: false };
  }
  const dir = path.resolve(opts.dataDir, "tls");
  const now = opts.now ?? Date.now();
  const certPath = path.join(dir, "server.crt");
  let generated = false;
  if (!existsSync(certPath) || !existsSync(path.join(dir, "server.key")) || !leafStillGood(readFileSync(certPath, "utf8"), now)) {
    await generate(dir, now);
    generated = true;
  }
  return {
    cert: readFileSync(certPath, "utf8"),
    key: readFileSync(path.join(dir, "server.key"), "utf8"),
    caCertPath: path.join(dir, "ca.crt"),
    generated,
  };
}
