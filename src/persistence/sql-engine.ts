/**
 * The dialect seam: everything that differs between SQLite, PostgreSQL and MySQL/MariaDB is a
 * field of `SqlEngine`, implemented once per engine in sqlite-dialect.ts, postgres-dialect.ts
 * and mysql-dialect.ts. Repositories and migrations ask the engine; they never test its name.
 *
 * Driver errors are classified inside each dialect's connection wrapper, so repositories
 * only ever see the classes below (or ServiceUnavailable for a lost connection), never a
 * driver's error codes.
 */
import type { ColumnDataType, CreateTableBuilder, Expression, Kysely, OrderByModifiers, Transaction } from 'kysely';

/** A unique or primary-key constraint refused the write. `cause` is the driver's error. */
export class UniqueViolation extends Error {
  override readonly name = 'UniqueViolation';
}

/** A foreign-key constraint refused the write. */
export class ForeignKeyViolation extends Error {
  override readonly name = 'ForeignKeyViolation';
}

/**
 * The engine gave up on the transaction to break a deadlock or a serialization conflict:
 * running it again from the start is safe and usually succeeds (see `inTransaction`).
 */
export class RetryableConflict extends Error {
  override readonly name = 'RetryableConflict';
}

/** Column kinds of Iris's schema; each engine maps them to its own types. */
export interface ColumnTypes {
  /** Short text that may be indexed: `text` on SQLite and PostgreSQL, `varchar(n)` on MySQL. */
  string(length: number): ColumnDataType | Expression<unknown>;
  /** Unbounded text never indexed. */
  readonly text: ColumnDataType | Expression<unknown>;
  /** 32-bit integers (flags, small counters). */
  readonly integer: ColumnDataType;
  /** 64-bit integers: sizes, epoch-millisecond times. */
  readonly bigint: ColumnDataType;
}

export interface SqlEngine {
  readonly name: 'sqlite' | 'postgresql' | 'mysql';
  readonly types: ColumnTypes;
  /** Ends a CREATE TABLE (SQLite: STRICT / WITHOUT ROWID; MySQL: InnoDB, utf8mb4). */
  tableOptions<T extends string, C extends string>(
    table: CreateTableBuilder<T, C>,
    opts: { readonly withoutRowid?: boolean },
  ): CreateTableBuilder<T, C>;
  /** CHECK expression: `column` is NULL or valid JSON text. */
  isJsonOrNull(column: string): Expression<unknown>;
  /** Adds an auto-incrementing integer primary key column `id`. */
  autoIncrementId<T extends string, C extends string>(table: CreateTableBuilder<T, C>): CreateTableBuilder<T, C>;
  /**
   * Makes `columns` unique among rows with `deleted = 0` only (soft-deleted rows may repeat).
   * A partial index where the engine has them; MySQL has none, so a generated column that is
   * NULL for deleted rows joins the unique key there (NULLs never collide).
   */
  createLiveUniqueIndex(db: Kysely<any>, name: string, table: string, columns: readonly string[]): Promise<void>;
  /**
   * Creates an index that serves list ORDER BYs in both directions. `nullable` columns keep
   * NULLs where orderNullable puts them (PostgreSQL's btree otherwise puts them last
   * ascending, and could not walk the index for a NULLs-first order).
   */
  createSortIndex(db: Kysely<any>, name: string, table: string, columns: readonly string[], nullable: readonly string[]): Promise<void>;
  /**
   * The ORDER BY direction for a nullable key, with NULLs where Iris has always put them
   * (SQLite's order: first ascending, last descending). PostgreSQL needs it spelled out.
   */
  orderNullable(dir: 'asc' | 'desc'): OrderByModifiers;
  /** False where UPDATE … RETURNING does not exist (MariaDB, MySQL). */
  readonly updateReturning: boolean;
  /** Attempts of a transaction that keeps failing with RetryableConflict (1 = no retry). */
  readonly transactionAttempts: number;
}

/**
 * Runs `work` in a transaction, again from the start when the engine aborted it to break a
 * deadlock or serialization conflict (RetryableConflict), up to `engine.transactionAttempts`
 * times; then the last RetryableConflict propagates.
 *
 * @example await inTransaction(db, engine, async (trx) => { … });
 */
export async function inTransaction<S, R>(
  db: Kysely<S>,
  engine: SqlEngine,
  work: (trx: Transaction<S>) => Promise<R>,
): Promise<R> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await db.transaction().execute(work);
    } catch (err) {
      if (!(err instanceof RetryableConflict) || attempt >= engine.transactionAttempts) throw err;
      // A short, growing, jittered pause so the two sides of a deadlock do not collide again.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 10 * attempt));
    }
  }
}
