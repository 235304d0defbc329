import type { Pool, PoolClient, PoolConfig } from 'pg';
import { SquallError } from '../errors/index.ts';
import type { TopologyContext } from '../topology/index.ts';
import type { Tuple } from '../tuple/index.ts';
import { TwoPhaseCommitSink } from './two-phase-commit.ts';

export interface PostgresUpsertSinkOptions {
  /** A connection string or pg pool config (the sink makes and ends its pool)… */
  readonly connection?: string | PoolConfig;
  /** … or a pool of yours (not ended by cleanup). */
  readonly pool?: Pool;
  /** Schema of the table (default 'public'). */
  readonly schema?: string;
  readonly table: string;
  /** The key columns: the table's primary key (or a unique constraint on exactly these). */
  readonly key: readonly string[];
  /** The value columns written on each upsert. */
  readonly columns: readonly string[];
  /** The column holding the checkpoint id that wrote the row (default 'checkpoint_id', bigint). */
  readonly checkpointColumn?: string;
  /**
   * A row per input, by column name (key and value columns); default: the
   * input's fields of those names. Values must be structured-cloneable
   * (they wait in the operator state until their checkpoint completes).
   */
  readonly row?: (input: Tuple) => Readonly<Record<string, unknown>>;
  /**
   * Create the schema and table if missing, with these column types (SQL,
   * e.g. `{ word: 'text', count: 'bigint' }`), the key as primary key and
   * the checkpoint column. Without it the table must exist.
   */
  readonly createTable?: Readonly<Record<string, string>>;
  /** Rows per INSERT statement at commit (default 1000). */
  readonly batchRows?: number;
}

/** The rows of one checkpoint's transaction: the newest row per key, in column order (key columns, then value columns). */
export interface UpsertTransaction {
  readonly rows: Map<string, unknown[]>;
}

function ident(name: unknown, what: string): string {
  if (typeof name !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(name)) {
    throw new SquallError({
      code: 'E_BAD_CONFIG',
      message: `PostgresUpsertSink: ${what} is ${JSON.stringify(name) ?? String(name)}; it must be a plain SQL identifier (letters, digits, _; not starting with a digit; at most 63)`,
      details: { key: what, value: name },
    });
  }
  return `"${name}"`;
}

function unavailable(doing: string, where: string, cause: unknown): SquallError {
  const code = (cause as { code?: unknown } | null)?.code;
  // Connection trouble and serialization failures may pass; constraint and syntax errors will not.
  const retriable = typeof code !== 'string' || /^(08|40|53|57)/.test(code);
  return new SquallError(
    {
      code: 'E_STATE_UNAVAILABLE',
      message: `PostgresUpsertSink (${where}): could not ${doing}: ${(cause as Error)?.message ?? String(cause)}${retriable ? '; the commit is tried again at the next completed checkpoint, and on a restore' : '; check the table and the rows (the key columns must be its primary key or a unique constraint)'}`,
      details: { retriable, sqlState: code },
    },
    { cause },
  );
}

/**
 * An idempotent upsert sink for PostgreSQL with exactly-once effect in
 * checkpoint mode. Inputs are buffered per checkpoint (the newest row per
 * key wins) in the operator state; when checkpoint n completes its rows are
 * upserted in **one** PostgreSQL transaction, each carrying n in the
 * checkpoint column, so they become visible together. An upsert replaces a
 * row only if the row's checkpoint id is not newer than n: committing n
 * again (after a crash between the checkpoint and the commit, when the
 * restore commits the pending transactions once more) rewrites the same
 * values, and never undoes a newer checkpoint's.
 *
 * Rows are upserts, not increments: write the value the row should have
 * (a count, not "+1"), as keyed state gives it.
 */
export class PostgresUpsertSink extends TwoPhaseCommitSink<UpsertTransaction> {
  private pool: Pool | undefined;
  private ownPool = false;
  private target = '';
  private insertHead = '';
  private conflict = '';
  private where = '';
  private readonly all: readonly string[];
  private readonly batchRows: number;

  constructor(private readonly options: PostgresUpsertSinkOptions) {
    super();
    const o = options;
    this.all = [...(o?.key ?? []), ...(o?.columns ?? [])];
    this.batchRows = o?.batchRows ?? 1000;
  }

  protected override async open(context: TopologyContext): Promise<void> {
    const o = this.options;
    const s = ident(o.schema ?? 'public', 'schema');
    const t = ident(o.table, 'table');
    if (!Array.isArray(o.key) || o.key.length === 0) {
      throw new SquallError({ code: 'E_BAD_CONFIG', message: 'PostgresUpsertSink: key must name at least one column (the table\'s primary key)', details: { key: 'key', value: o.key } });
    }
    if (!Array.isArray(o.columns)) throw new SquallError({ code: 'E_BAD_CONFIG', message: 'PostgresUpsertSink: columns must be a list of column names', details: { key: 'columns', value: o.columns } });
    const keys = o.key.map((k) => ident(k, 'key'));
    const cols = o.columns.map((c) => ident(c, 'columns'));
    const cp = ident(o.checkpointColumn ?? 'checkpoint_id', 'checkpointColumn');
    if (new Set(this.all).size !== this.all.length || this.all.includes(o.checkpointColumn ?? 'checkpoint_id')) {
      throw new SquallError({ code: 'E_BAD_CONFIG', message: 'PostgresUpsertSink: key, columns and checkpointColumn must name different columns', details: { key: 'columns', value: this.all } });
    }
    if (!Number.isInteger(this.batchRows) || this.batchRows < 1) {
      throw new SquallError({ code: 'E_BAD_CONFIG', message: `PostgresUpsertSink: batchRows is ${String(this.batchRows)}; it must be a whole number, at least 1`, details: { key: 'batchRows', value: this.batchRows } });
    }
    this.target = `${s}.${t}`;
    this.insertHead = `INSERT INTO ${this.target} AS t (${[...keys, ...cols, cp].join(', ')}) VALUES `;
    this.conflict = ` ON CONFLICT (${keys.join(', ')}) DO UPDATE SET ${[...cols, cp].map((c) => `${c} = EXCLUDED.${c}`).join(', ')}`;
    this.where = ` WHERE t.${cp} <= EXCLUDED.${cp}`;
    if (o.pool !== undefined) this.pool = o.pool;
    else {
      const { default: pg } = await import('pg');
      const config: PoolConfig = typeof o.connection === 'string' ? { connectionString: o.connection } : { ...(o.connection ?? {}) };
      config.max ??= 2;
      this.pool = new pg.Pool(config);
      this.pool.on('error', () => undefined);
      this.ownPool = true;
    }
    if (o.createTable !== undefined) {
      const types = o.createTable;
      for (const c of this.all) {
        if (typeof types[c] !== 'string') {
          throw new SquallError({ code: 'E_BAD_CONFIG', message: `PostgresUpsertSink: createTable gives no SQL type for column '${c}'`, details: { key: 'createTable', value: types } });
        }
      }
      const defs = this.all.map((c) => `${ident(c, 'columns')} ${types[c]}`);
      await this.tx(`create ${this.target}`, async (c) => {
        await c.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [`squall-sink:${this.target}`]);
        await c.query(`CREATE SCHEMA IF NOT EXISTS ${s}`);
        await c.query(`CREATE TABLE IF NOT EXISTS ${this.target} (${defs.join(', ')}, ${cp} bigint NOT NULL, PRIMARY KEY (${keys.join(', ')}))`);
      });
    }
    void context;
  }

  protected override async close(): Promise<void> {
    const pool = this.pool;
    this.pool = undefined;
    if (pool !== undefined && this.ownPool) await pool.end();
  }

  protected beginTransaction(): UpsertTransaction {
    return { rows: new Map() };
  }

  protected invoke(txn: UpsertTransaction, input: Tuple): void {
    const row = this.options.row !== undefined ? this.options.row(input) : null;
    const values = this.all.map((c) => {
      if (row !== null) {
        if (!(c in row)) {
          throw new SquallError({ code: 'E_BAD_ARGUMENT', message: `PostgresUpsertSink: the row of an input has no column '${c}'; options.row must return every key and value column`, details: { column: c } });
        }
        return row[c];
      }
      if (!input.contains(c)) {
        throw new SquallError({ code: 'E_BAD_ARGUMENT', message: `PostgresUpsertSink: the input has no field '${c}'; declare it upstream, or map inputs to rows with options.row`, details: { column: c } });
      }
      return input.get(c);
    });
    txn.rows.set(JSON.stringify(values.slice(0, this.options.key.length)), values);
  }

  /** The rows wait in the operator state (the snapshot): nothing to stage. */
  protected preCommit(): void {}

  /** Upsert every row with the checkpoint id, in one transaction; a row newer than n is left as it is. */
  protected async commit(txn: UpsertTransaction, checkpointId: number): Promise<void> {
    const rows = [...txn.rows.values()];
    if (rows.length === 0) return;
    const width = this.all.length + 1;
    await this.tx(`upsert checkpoint ${checkpointId}'s ${rows.length} rows into ${this.target}`, async (c) => {
      for (let i = 0; i < rows.length; i += this.batchRows) {
        const chunk = rows.slice(i, i + this.batchRows);
        const params: unknown[] = [];
        const tuples = chunk.map((r, j) => {
          for (const v of r) params.push(v);
          params.push(checkpointId);
          return `(${Array.from({ length: width }, (_, k) => `$${j * width + k + 1}`).join(', ')})`;
        });
        await c.query(this.insertHead + tuples.join(', ') + this.conflict + this.where, params);
      }
    });
  }

  /** Nothing was written before the commit: dropping the handle is the abort. */
  protected abort(): void {}

  private async tx(doing: string, fn: (c: PoolClient) => Promise<void>): Promise<void> {
    let c: PoolClient;
    try {
      c = await this.pool!.connect();
    } catch (e) {
      throw unavailable(doing, this.target, e);
    }
    // A pooled client is reused: listen while it is ours, and stop when it goes back (one listener per
    // transaction would pile up on it: MaxListenersExceededWarning).
    const onError = (): undefined => undefined;
    c.on('error', onError);
    let ok = false;
    try {
      await c.query('BEGIN');
      await fn(c);
      await c.query('COMMIT');
      ok = true;
    } catch (e) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw e instanceof SquallError ? e : unavailable(doing, this.target, e);
    } finally {
      c.off('error', onError);
      c.release(ok ? undefined : true);
    }
  }
}
