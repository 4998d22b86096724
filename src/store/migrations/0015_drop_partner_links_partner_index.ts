/**
 * 0015: drops `partner_links_partner` (partner_links by partner_id). No query reads links by
 * partner id alone: attribution and coverage read the whole history, and the one filter on a
 * partner id (`LinkStore.history`, from the portal) also names the principal, which
 * `partner_links_principal` serves. Yet every link write paid for it: with few partner ids and
 * rising sequence numbers, each new interval lands inside a full leaf of that index, and SQLite
 * rebalances the leaf with its siblings and their parent, so a link write committed on its own
 * wrote about 10 pages, 4 of them this index's.
 */
import type { Kysely } from "kysely";
import type { Dialect, Migration } from "./helpers.ts";

async function up(db: Kysely<unknown>, _dialect: Dialect): Promise<void> {
  await db.schema.dropIndex("partner_links_partner").ifExists().execute();
}

export const dropPartnerLinksPartnerIndex: Migration = { name: "0015_drop_partner_links_partner_index", up };
