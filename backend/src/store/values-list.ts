import { sql, type AliasedRawBuilder } from 'kysely';

export type SqlType = 'uuid' | 'int8' | 'text' | 'timestamptz';

/**
 * A typed derived table `(values (…), (…)) as alias(columns)`, to update many rows in one
 * statement (`updateTable(…).from(valuesList(…))`). Every value is a bound parameter; only the
 * fixed type names are written into the SQL, as parameters of a VALUES list have no type.
 */
export function valuesList<R extends Record<string, unknown>, A extends string>(rows: readonly R[], alias: A, types: { [K in keyof R]: SqlType }): AliasedRawBuilder<R, A> {
  const columns = Object.keys(types) as Array<keyof R & string>;
  const body = sql.join(rows.map((row) => sql`(${sql.join(columns.map((c) => sql`cast(${row[c]} as ${sql.raw(types[c])})`))})`));
  return sql<R>`(values ${body})`.as<A>(sql`${sql.ref(alias)}(${sql.join(columns.map((c) => sql.ref(c)))})`);
}
