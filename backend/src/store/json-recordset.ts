import { sql, type AliasedRawBuilder, type RawBuilder } from 'kysely';

/** Column types of a recordset; `timestamptz` columns are sent as seconds since the epoch (see below). */
export type RecordsetType = 'uuid' | 'int8' | 'int4' | 'text' | 'timestamptz' | 'jsonb';

/** What a row holds for each column type: a time is a number of seconds since the epoch (or null). */
type RowValue<T extends RecordsetType> = T extends 'timestamptz' ? number | null : unknown;

/** The table's row type as the query sees it: times are timestamps there. */
type Columns<R, T> = { [K in keyof R]: K extends keyof T ? (T[K] extends 'timestamptz' ? Date | null : R[K]) : R[K] };

/**
 * A typed derived table of many rows bound as one parameter, from `jsonb_to_recordset($1::jsonb)`.
 * For the statements that write a whole batch it replaces a VALUES list of one parameter per
 * value: the batch is serialised once (one JSON.stringify, nested objects included), the
 * statement's text is the same for every batch size (cheap to build, to parse and to plan), and
 * PostgreSQL parses one document. Times travel as numbers of seconds and become timestamps in
 * SQL (`to_timestamp`, to the microsecond), because JSON.stringify turns a Date into text through
 * its toJSON, a slow path. Still a bound parameter: no value is ever written into the SQL, only
 * the fixed column and type names. A key missing from a row reads as null.
 */
export function jsonRecordset<T extends Record<string, RecordsetType>, R extends { [K in keyof T]: RowValue<T[K]> }, A extends string>(rows: readonly R[], alias: A, types: T): AliasedRawBuilder<Columns<R, T>, A> {
  const columns = Object.keys(types);
  const definition = sql.join(columns.map((c) => sql`${sql.ref(c)} ${sql.raw(types[c] === 'timestamptz' ? 'float8' : (types[c] as string))}`));
  const selected = sql.join(columns.map((c) => (types[c] === 'timestamptz' ? sql`to_timestamp(${sql.ref(`j.${c}`)}) as ${sql.ref(c)}` : sql.ref(`j.${c}`))));
  return sql<Columns<R, T>>`(select ${selected} from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as j(${definition}))`.as<A>(alias);
}

/**
 * `any(array(select …))` of the given uuids bound as one parameter, for `where id = …` over a
 * batch: an init plan whose array the index is probed with, whatever the batch's size. (The
 * planner guesses 100 rows for any set-returning function of a parameter; joined to a table of
 * a few thousand rows, that guess picks a sequential scan of the table.)
 */
export function anyOfUuids(ids: readonly string[]): RawBuilder<string> {
  return sql<string>`any(array(select jsonb_array_elements_text(${JSON.stringify(ids)}::jsonb)::uuid))`;
}
