/**
 * PostgreSQL introspection limited to the connection's own schema.
 *
 * kysely's migrator asks the introspector for every table of the database to learn whether its
 * bookkeeping tables exist. The stock PostgreSQL introspector reads every schema and resolves
 * each one by name (`has_schema_privilege`, `pg_get_serial_sequence`); a schema another client
 * drops during that read (a second OpenPAL schema, a test's) fails the whole read with
 * "schema … does not exist". OpenPAL's tables, the migrator's included, live in the connection's
 * current schema only, so reading that one schema, by oid, answers the same question and cannot
 * be disturbed by other schemas coming and going.
 */
import { PostgresDialect, sql, type DatabaseConnection, type DatabaseIntrospector, type DatabaseMetadata, type DatabaseMetadataOptions, type Driver, type Kysely, type SchemaMetadata, type TableMetadata } from "kysely";

interface ColumnRow {
  table: string;
  table_type: string;
  schema: string;
  column: string;
  type: string;
  type_schema: string;
  not_null: boolean;
  has_default: boolean;
  is_identity: boolean;
  column_description: string | null;
}

export class OwnSchemaPostgresIntrospector implements DatabaseIntrospector {
  readonly #db: Kysely<unknown>;

  constructor(db: Kysely<unknown>) {
    this.#db = db;
  }

  async getSchemas(): Promise<SchemaMetadata[]> {
    const r = await sql<{ name: string }>`SELECT nspname AS name FROM pg_catalog.pg_namespace`.execute(this.#db);
    return r.rows.map((row) => ({ name: row.name }));
  }

  async getTables(options: DatabaseMetadataOptions = { withInternalKyselyTables: false }): Promise<TableMetadata[]> {
    // The schema is matched by oid from current_schema(), never by another schema's name.
    const r = await sql<ColumnRow>`
      SELECT c.relname AS "table", c.relkind AS table_type, ns.nspname AS "schema",
             a.attname AS "column", typ.typname AS "type", dtns.nspname AS type_schema,
             a.attnotnull AS not_null, a.atthasdef AS has_default,
             (a.attidentity <> '' OR COALESCE(pg_catalog.pg_get_expr(d.adbin, d.adrelid) LIKE 'nextval(%', false)) AS is_identity,
             pg_catalog.col_description(a.attrelid, a.attnum) AS column_description
        FROM pg_catalog.pg_attribute a
        JOIN pg_catalog.pg_class c ON a.attrelid = c.oid
        JOIN pg_catalog.pg_namespace ns ON c.relnamespace = ns.oid
        JOIN pg_catalog.pg_type typ ON a.atttypid = typ.oid
        JOIN pg_catalog.pg_namespace dtns ON typ.typnamespace = dtns.oid
        LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
       WHERE ns.nspname = current_schema()
         AND c.relkind IN ('r', 'v', 'p')
         AND a.attnum >= 0 AND NOT a.attisdropped
       ORDER BY c.relname, a.attnum`.execute(this.#db);
    const tables = new Map<string, TableMetadata>();
    for (const row of r.rows) {
      if (!options.withInternalKyselyTables && (row.table === "kysely_migration" || row.table === "kysely_migration_lock")) continue;
      let table = tables.get(row.table);
      if (!table) {
        table = { name: row.table, isView: row.table_type === "v", schema: row.schema, columns: [] };
        tables.set(row.table, table);
      }
      table.columns.push({
        name: row.column,
        dataType: row.type,
        dataTypeSchema: row.type_schema,
        isNullable: !row.not_null,
        isAutoIncrementing: row.is_identity,
        hasDefaultValue: row.has_default,
        ...(row.column_description === null ? {} : { comment: row.column_description }),
      });
    }
    return [...tables.values()];
  }

  async getMetadata(options?: DatabaseMetadataOptions): Promise<DatabaseMetadata> {
    return { tables: await this.getTables(options) };
  }
}

/**
 * A value PostgreSQL's text cannot hold: U+0000 (NUL), refused as SQLSTATE 22021 ("invalid byte
 * sequence for encoding UTF8: 0x00"), or a character the database encoding lacks (22P05). It comes
 * from the request (a path segment, a query or body value), so it is the client's error: a 400
 * that says what to remove, in whatever shape the route's error handler answers (every handler
 * keeps a 4xx `statusCode` and its message). SQLite holds such text; lookups by well-formed
 * values never match it on either store.
 */
export class UnstorableValueError extends Error {
  readonly statusCode = 400;
  readonly code = "InvalidRequestContent";
  constructor(cause: Error) {
    super("The request holds a character that no id or value may contain (NUL, U+0000, in the path, the query or the body). Remove it and send the request again.", { cause });
  }
}

const UNSTORABLE_SQLSTATES = new Set(["22021", "22P05"]);

function clientErrorOf(error: unknown): unknown {
  return UNSTORABLE_SQLSTATES.has(String((error as { code?: unknown } | null)?.code)) ? new UnstorableValueError(error as Error) : error;
}

/**
 * kysely's PostgreSQL dialect, introspecting the connection's own schema only, and turning a
 * statement refused for an unstorable character (UnstorableValueError) into the client's error.
 */
export class OwnSchemaPostgresDialect extends PostgresDialect {
  override createIntrospector(db: Kysely<unknown>): DatabaseIntrospector {
    return new OwnSchemaPostgresIntrospector(db);
  }

  override createDriver(): Driver {
    const driver = super.createDriver();
    const acquire = driver.acquireConnection.bind(driver);
    const wrapped = new WeakSet<DatabaseConnection>();
    driver.acquireConnection = async () => {
      const connection = await acquire();
      // kysely keeps one connection object per pooled client: wrap each once.
      if (!wrapped.has(connection)) {
        wrapped.add(connection);
        const execute = connection.executeQuery.bind(connection);
        connection.executeQuery = async (query) => {
          try {
            return await execute(query);
          } catch (error) {
            throw clientErrorOf(error);
          }
        };
      }
      return connection;
    };
    return driver;
  }
}
