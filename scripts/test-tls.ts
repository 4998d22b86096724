// Prepares the TLS material shared by every test server (see scripts/test.mjs).
import { loadTlsMaterial } from "../src/server/tls.ts";

const dir = process.argv[2];
if (!dir) throw new Error("usage: test-tls.ts DIR");
await loadTlsMaterial({ dataDir: dir });
