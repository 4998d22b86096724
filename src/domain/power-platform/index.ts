/**
 * Power Platform and Customer Insights, the pure part: the model (environments, resource kinds,
 * relationships) and the ownership timeline rules, including the question business-applications
 * attribution asks: who is the attributed user of resource R at time t, since when, and why.
 *
 * @example
 * import { attributedUsersAt } from "../domain/power-platform/index.ts";
 * const rels = await store.powerPlatform.relationships(tenantId, appId);
 * const [first] = attributedUsersAt("canvasApp", rels, Date.parse("2026-10-15T00:00:00Z"));
 * // first?.role === "Owner", first?.since, first?.why
 */
export * from "./model.ts";
export * from "./ownership.ts";
export * from "./permissions.ts";
