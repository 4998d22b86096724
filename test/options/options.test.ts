import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { resolveOptions, optionDefinitions } from "../../src/options/index.ts";

const resolve = (flags = {}, env = {}, config = {}) => resolveOptions({ flags, env, config, isTty: false });

describe("options: flag > OPENPAL_* environment > config file > default", () => {
  it("uses the documented defaults when nothing is set", () => {
    const r = resolve();
    assert.ok(r.ok);
    assert.equal(r.options.host, "127.0.0.1");
    assert.equal(r.options.port, 8443);
    assert.equal(r.options.store, "sqlite");
    assert.equal(r.options.inMemory, false);
    assert.match(r.options.dataDir, /\.openpal$/);
    assert.equal(r.options.logFormat, "json");
  });

  it("a flag beats the environment, which beats the config file", () => {
    assert.equal((resolve({ port: "1" }, { OPENPAL_PORT: "2" }, { port: 3 }) as { options: { port: number } }).options.port, 1);
    assert.equal((resolve({}, { OPENPAL_PORT: "2" }, { port: 3 }) as { options: { port: number } }).options.port, 2);
    assert.equal((resolve({}, {}, { port: 3 }) as { options: { port: number } }).options.port, 3);
  });

  it("port 0 is accepted (the system picks a free port)", () => {
    const r = resolve({ port: "0" });
    assert.ok(r.ok && r.options.port === 0);
  });

  it("reports every problem at once, each naming its source and the fix", () => {
    const r = resolve({ port: "http" }, { OPENPAL_STORE: "mysql", OPENPAL_LOG_LEVEL: "loud" }, { colour: true });
    assert.equal(r.ok, false);
    const problems = (r as { problems: readonly string[] }).problems;
    assert.equal(problems.length, 4);
    assert.ok(problems.some((p) => p.includes("--port (from flag --port)") && p.includes("not a whole number")));
    assert.ok(problems.some((p) => p.includes("OPENPAL_STORE") && p.includes("sqlite, postgres")));
    assert.ok(problems.some((p) => p.includes("OPENPAL_LOG_LEVEL")));
    assert.ok(problems.some((p) => p.includes('unknown key "colour"')));
  });

  it("postgres needs a URL, and --postgres-url implies --store postgres", () => {
    const missing = resolve({ store: "postgres" });
    assert.equal(missing.ok, false);
    const implied = resolve({ postgresUrl: "postgres://u:p@127.0.0.1/db" });
    assert.ok(implied.ok && implied.options.store === "postgres");
  });

  it("--cert and --key go together", () => {
    const r = resolve({ cert: "a.pem" });
    assert.equal(r.ok, false);
    assert.match((r as { problems: readonly string[] }).problems[0] ?? "", /--cert and --key go together/);
  });

  it("the resolved options are frozen", () => {
    const r = resolve();
    assert.ok(r.ok);
    assert.throws(() => {
      (r.options as { port: number }).port = 1;
    });
  });

  it("the README's and docs/OPTIONS.md's option tables list every option with its flag, environment variable and default", () => {
    for (const doc of ["../../README.md", "../../docs/OPTIONS.md"]) {
      const text = readFileSync(new URL(doc, import.meta.url), "utf8");
      for (const def of optionDefinitions) {
        const row = text.split("\n").find((line) => line.startsWith(`| \`${def.flag}\` |`));
        assert.ok(row, `${doc} lacks a row for ${def.flag}`);
        assert.ok(row.includes(`\`${def.env}\``), `${doc}: ${def.flag} row lacks ${def.env}`);
        assert.ok(row.includes(def.defaultText), `${doc}: ${def.flag} row lacks its default ${def.defaultText}`);
      }
    }
  });
});
