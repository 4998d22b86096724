/**
 * Browser tests drive Debian's Chromium (/usr/bin/chromium, installed by scripts/ci-packages.sh)
 * with playwright-core; no browser is ever downloaded. The server's certificate is issued by the
 * test CA, which Chromium's store does not hold, so browser contexts ignore HTTPS errors; they only
 * ever talk to the loopback test server.
 */
import { chromium, type Browser, type BrowserContext, type Page, type ConsoleMessage } from "playwright-core";
import { accessSync, constants, mkdirSync } from "node:fs";
import path from "node:path";

export const CHROMIUM = process.env.OPENPAL_CHROMIUM ?? "/usr/bin/chromium";
export const SCREENSHOT_DIR = path.resolve(path.dirname(new URL(import.meta.url).pathname), "../../test-artifacts/screenshots");

/** Why the browser suites cannot run here (Chromium missing), or undefined when they can. */
export function chromiumMissing(executable = CHROMIUM): string | undefined {
  try {
    accessSync(executable, constants.X_OK);
    return undefined;
  } catch {
    return `Chromium is not installed at ${executable}: install Debian's package (\`apt-get install chromium\`), ` +
      `or set OPENPAL_CHROMIUM to a Chromium binary. The browser tests are required in CI (CI=true).`;
  }
}

/**
 * The `skip` option of a browser suite: outside CI a machine without Chromium skips the suite with
 * the message naming the package; in CI (CI=true) the suite runs and fails fast in launchBrowser.
 * Suites must close what they opened with optional chaining (`await browser?.close()`), so a failed
 * `before` never leaves a server listening (the test file would never end).
 */
export const browserSuiteSkip: string | false = process.env.CI === "true" ? false : (chromiumMissing() ?? false);

/** Launches Chromium, or fails at once with the message naming the package to install. */
export async function launchBrowser(): Promise<Browser> {
  const missing = chromiumMissing();
  if (missing) throw new Error(missing);
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    timeout: 60_000,
    // Without the background-networking flags Chromium tries to reach Google's hosts, which this
    // closed network refuses.
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"],
  });
}

export interface WatchedPage {
  readonly page: Page;
  readonly context: BrowserContext;
  /** Console errors and requests to other origins seen so far. */
  readonly problems: string[];
}

/** A page that records console errors and any request leaving `origin`. */
export async function watchedPage(browser: Browser, origin: string): Promise<WatchedPage> {
  const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on("console", (msg: ConsoleMessage) => {
    if (msg.type() === "error") problems.push(`console error: ${msg.text()}`);
  });
  page.on("pageerror", (err) => problems.push(`page error: ${err.message}`));
  page.on("request", (req) => {
    const url = req.url();
    if (!url.startsWith(origin) && !url.startsWith("data:") && !url.startsWith("about:")) problems.push(`request outside the server: ${url}`);
  });
  return { page, context, problems };
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const file = path.join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}
