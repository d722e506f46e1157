import type { DataSource, EntityTarget, ObjectLiteral } from 'typeorm';
import type { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity';

/**
 * Inserts one row unless a unique key already holds it, and returns the stored row (every column,
 * database defaults included) hydrated as TypeORM reads an entity, or `undefined` when nothing was
 * inserted. One round trip where "insert, then read the row back" took two: the POST paths create
 * a resource per request (issue 12).
 */
export async function insertOrIgnoreReturning<T extends ObjectLiteral>(ds: DataSource, target: EntityTarget<T>, values: QueryDeepPartialEntity<T>): Promise<T | undefined> {
  const result = await ds.createQueryBuilder().insert().into(target).values(values).orIgnore().returning('*').execute();
  const raw = (result.raw as Record<string, unknown>[])[0];
  if (!raw) return undefined;
  const metadata = ds.getMetadata(target);
  const entity = metadata.create() as T;
  for (const column of metadata.columns) {
    const value = raw[column.databaseName];
    if (value !== undefined) column.setEntityValue(entity, ds.driver.prepareHydratedValue(value, column));
  }
  return entity;
}
