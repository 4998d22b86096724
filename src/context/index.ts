/**
 * What every component receives from the composition root (src/server/app.ts): options, the
 * store, the injected clock and id source, the logger, and the server's public base URL (known
 * after listen when the port is chosen by the system). It lives below the components, so that
 * they depend on this contract and not on the server that composes them.
 */
import type { Logger } from "pino";
import type { Options } from "../options/index.ts";
import type { Store } from "../store/index.ts";
import type { Clock } from "../domain/time.ts";
import type { IdSource } from "../domain/ids.ts";

export interface AppContext {
  readonly options: Options;
  readonly store: Store;
  readonly clock: Clock;
  readonly ids: IdSource;
  readonly log: Logger;
  /** Public base URL without a trailing slash, e.g. https://127.0.0.1:8443. */
  baseUrl(): string;
  /** Operator key for /admin endpoints (world apply, partner registry). */
  readonly adminKey: string;
}
