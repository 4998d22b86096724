/**
 * 0006: Digital Partner of Record. `partners_of_record` holds effective-dated intervals
 * [valid_from, valid_to) during which a partner location id is the partner of record of an EA
 * subscription. At most one open interval per subscription (partial unique index, both dialects);
 * a change closes the open row and opens the next in one transaction. Leads with tenant_id (the
 * subscription's tenant) so it shards with the rest of the tenant's rows.
 */
import { sql, type Kysely } from "kysely";
import { withSeq, type Dialect, type Migration } from "./helpers.ts";

async function up(db: Kysely<unknown>, dialect: Dialect): Promise<void> {
  await withSeq(db.schema.createTable("partners_of_record"), dialect)
    .addColumn("tenant_id", "text", (c) => c.notNull())
    .addColumn("subscription_id", "text", (c) => c.notNull())
    .addColumn("partner_id", "text", (c) => c.notNull())
    .addColumn("valid_from", "bigint")
    .addColumn("valid_to", "bigint")
    // Who set it and who ended it (object ids), for the audit trail and rule 13's association date.
    .addColumn("set_by", "text")
    .addColumn("ended_by", "text")
    .addColumn("end_reason", "text")
    .execute();
  await db.schema.createIndex("partners_of_record_subscription").on("partners_of_record").columns(["subscription_id", "valid_from"]).execute();
  await db.schema.createIndex("partners_of_record_one_open").on("partners_of_record").column("subscription_id").unique()
    .where(sql.ref("valid_to"), "is", null).execute();
  await db.schema.createIndex("partners_of_record_partner").on("partners_of_record").column("partner_id").execute();
}

export const partnerOfRecord: Migration = { name: "0006_partner_of_record", up };
