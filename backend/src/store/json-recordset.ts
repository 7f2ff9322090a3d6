import { sql, type AliasedRawBuilder, type RawBuilder } from 'kysely';

export type RecordsetType = 'uuid' | 'int8' | 'int4' | 'text' | 'timestamptz' | 'jsonb';

/**
 * A typed derived table of many rows bound as one parameter:
 * `jsonb_to_recordset($1::jsonb) as alias(column type, …)`. For the statements that write a
 * whole batch, it replaces a VALUES list of one parameter per value: the batch is serialised
 * once (JSON.stringify, nested objects included, Dates as ISO text), the statement's text is
 * the same for every batch size (cheap to build, to parse and to plan), and PostgreSQL parses
 * the one document. Still a bound parameter: no value is ever written into the SQL, only the
 * fixed column names and type names. Keys missing from a row read as null.
 */
export function jsonRecordset<R extends Record<string, unknown>, A extends string>(rows: readonly R[], alias: A, types: { [K in keyof R]: RecordsetType }): AliasedRawBuilder<R, A> {
  const columns = Object.keys(types) as Array<keyof R & string>;
  const definition = sql.join(columns.map((c) => sql`${sql.ref(c)} ${sql.raw(types[c])}`));
  return sql<R>`jsonb_to_recordset(${JSON.stringify(rows)}::jsonb)`.as<A>(sql`${sql.ref(alias)}(${definition})`);
}

/** `(select …)` of the given uuids bound as one parameter, for `where id in (…)` over a batch. */
export function jsonUuids(ids: readonly string[]): RawBuilder<string> {
  return sql<string>`(select jsonb_array_elements_text(${JSON.stringify(ids)}::jsonb)::uuid)`;
}
