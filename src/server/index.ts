/** Server component: composition root, TLS, logging. */
export { buildApp, startServer, ensureAdminKey, type OpenPalApp, type RunningServer, type AppDependencies } from "./app.ts";
export type { AppContext } from "../context/index.ts";
export { loadTlsMaterial } from "./tls.ts";
export { redactUrl, REDACTED } from "./logging.ts";
