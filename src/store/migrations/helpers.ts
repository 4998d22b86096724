/** Column helpers that hide the two dialects' differences from migrations. */
import type { CreateTableBuilder, Kysely } from "kysely";

export type Dialect = "sqlite" | "postgres";

/** A migration: `up` receives the dialect so it can choose column types. */
export interface Migration {
  readonly name: string;
  up(db: Kysely<unknown>, dialect: Dialect): Promise<void>;
}

/** An auto-incrementing integer primary key named `seq`. */
export function withSeq<T extends string>(table: CreateTableBuilder<T, never>, dialect: Dialect): CreateTableBuilder<T, "seq"> {
  return dialect === "postgres"
    ? table.addColumn("seq", "bigserial", (c) => c.primaryKey())
    : table.addColumn("seq", "integer", (c) => c.primaryKey().autoIncrement());
}
