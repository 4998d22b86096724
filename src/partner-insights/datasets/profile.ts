/**
 * Profile: the partner registry as Partner Center's profile dataset names it — the caller's
 * organisation (HierarchyLevel PartnerGlobalAccount) and each of its locations (PartnerLocation).
 * The table is built from the caller's organisation only; there is nothing else to leak.
 */
import type { Dataset, SourceRequest, SourceRelation } from "./dataset.ts";

async function source(req: SourceRequest): Promise<SourceRelation> {
  const [org, locations] = await Promise.all([req.store.partners.getOrganisation(req.globalId), req.store.partners.listLocations(req.globalId)]);
  const c = req.connection;
  await c.run(`CREATE OR REPLACE TEMP TABLE ins_profile ("MpnId" VARCHAR, "PGA_MPNId" VARCHAR, "PartnerName" VARCHAR, "HierarchyLevel" VARCHAR, "Country" VARCHAR)`);
  const a = await c.createAppender("ins_profile");
  const name = org?.name ?? req.globalId;
  for (const row of [[req.globalId, req.globalId, name, "PartnerGlobalAccount", ""], ...locations.map((l) => [l.id, req.globalId, l.name ?? name, "PartnerLocation", l.country ?? ""])]) {
    for (const v of row) a.appendVarchar(v as string);
    a.endRow();
  }
  a.closeSync();
  return { sql: `SELECT *, "MpnId" AS _id FROM ins_profile`, params: [] };
}

export const profileDataset: Dataset = {
  name: "Profile",
  columns: ["MpnId", "PGA_MPNId", "PartnerName", "HierarchyLevel", "Country"].map((name) => ({ name, type: "string" as const })),
  metrics: [{ name: "LocationCount", sql: "COUNT(DISTINCT CASE WHEN d.\"HierarchyLevel\" = 'PartnerLocation' THEN d._id END)", type: "count" }],
  availableDateRanges: ["LIFETIME"],
  minimumRecurrenceInterval: 4,
  timed: false,
  systemQueries: [{
    queryId: "8e2b3a8c-6f1d-4c55-9c0e-5d7a1f3b2c41", name: "Profile_LIFETIME", description: "The partner's global account and locations.",
    query: "SELECT MpnId, PGA_MPNId, PartnerName, HierarchyLevel, Country FROM Profile TIMESPAN LIFETIME",
  }],
  source,
};
