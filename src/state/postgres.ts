/**
 * The PostgreSQL store. Four tables in a schema of their own (default
 * `squall`), shared by every topology:
 *
 *   topologies      (topology, latest, pruned): one row per topology, locked
 *                   FOR UPDATE by every commit: the fence
 *   checkpoints     (topology, checkpoint_id, metadata jsonb, committed_at): the
 *                   completed checkpoints kept
 *   keyed_state     (topology, component, key_group, key, checkpoint_id, value):
 *                   one row per version of a key; value NULL is a delete
 *   operator_state  (topology, component, checkpoint_id, task_index, value)
 *
 * A checkpoint commits in one transaction: lock the topology's row, check
 * that the newest checkpoint is the one the writer expects, insert the
 * delta's rows under the new checkpoint id, insert the checkpoint's row,
 * move `latest`, trim the checkpoints kept, COMMIT. Rows are written only
 * inside that transaction, so an aborted or crashed checkpoint leaves
 * nothing. The state as of checkpoint n is, per key, the newest version
 * <= n that is not a delete. Versions no kept checkpoint needs are pruned
 * (compact(), and in the background every `compactEvery` commits).
 */
import type { Pool, PoolClient, PoolConfig, QueryConfig } from 'pg';
import { SquallError } from '../errors/index.ts';
import { StoreBase } from './base.ts';
import type { PendingCheckpoint, StoreOptionsBase } from './base.ts';
import { badArgument, fenced, noCheckpoint, oldCheckpoint, unavailable } from './errors.ts';
import type { CheckpointMetadata, KeyedBatch, LatestCheckpoint, OperatorEntry } from './types.ts';

export interface PostgresStoreOptions extends StoreOptionsBase {
  /** The topology: the store's rows are this topology's. */
  readonly topology: string;
  /** A connection string or pg pool config (the store makes and ends its pool)… */
  readonly connection?: string | PoolConfig;
  /** … or a pool of yours (not ended by close()). */
  readonly pool?: Pool;
  /** The schema of the tables (default 'squall'; created if missing). */
  readonly schema?: string;
  /** Rows per INSERT statement (default 20000). */
  readonly batchRows?: number;
  /** Prune superseded versions in the background every this many commits (default 8; 0: only compact()). */
  readonly compactEvery?: number;
  /** Background pruning failed (the state is safe). */
  readonly onError?: (error: unknown) => void;
}

/** The state as of `n`: per key the newest version <= n; the caller drops deletes (NULL). */
const KEY_GROUP_CHUNK = 16;

function ident(name: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(name)) throw badArgument(`a PostgreSQL schema name must be a plain identifier, got ${JSON.stringify(name)}`);
  return `"${name}"`;
}

function asBuffer(v: Uint8Array): Buffer {
  return v instanceof Buffer ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}

const listening = new WeakSet<PoolClient>();
/** Every column as the text the server sent (the read parses it itself). */
const rawText = (): ((value: string) => string) => (value) => value;

function num(v: unknown): number | null {
  return v === null || v === undefined ? null : Number(v);
}

export class PostgresStore extends StoreBase {
  readonly kind = 'postgres' as const;
  readonly location: string;
  private readonly topology: string;
  private readonly s: string;
  private readonly schemaName: string;
  private readonly batchRows: number;
  private readonly compactEvery: number;
  private readonly onError: ((error: unknown) => void) | undefined;
  private readonly ownPool: boolean;
  private readonly connection: string | PoolConfig | undefined;
  private pool: Pool | undefined;
  private abandoned = false;
  private commitsSincePrune = 0;
  private pruning: Promise<void> | undefined;
  private readonly clients = new Set<PoolClient>();

  constructor(options: PostgresStoreOptions) {
    super(options);
    if (typeof options.topology !== 'string' || options.topology.length === 0) throw badArgument('a PostgreSQL state store needs a topology name');
    this.topology = options.topology;
    this.schemaName = options.schema ?? 'squall';
    this.s = ident(this.schemaName);
    this.location = `postgres schema ${this.schemaName}, topology ${this.topology}`;
    this.batchRows = options.batchRows ?? 20_000;
    this.compactEvery = options.compactEvery ?? 8;
    this.onError = options.onError;
    this.pool = options.pool;
    this.ownPool = options.pool === undefined;
    this.connection = options.connection;
  }

  protected override step(name: string): void {
    if (this.abandoned) throw new SquallError({ code: 'E_BAD_STATE', message: `the state store ${this.location} was abandoned` });
    super.step(name);
  }

  /** One statement, between the fault hook's before and after. */
  private async exec(client: PoolClient, name: string, query: string | QueryConfig, params?: unknown[]): Promise<{ rows: any[] }> {
    this.step(`sql ${name}`);
    const r = typeof query === 'string' ? await client.query(query, params) : await client.query(query);
    this.step(`sql ${name} done`);
    return r;
  }

  private async connect(what: string): Promise<PoolClient> {
    try {
      const c = await this.pool!.connect();
      this.clients.add(c);
      // A client's error (the server went away) must not crash the process: the query that fails reports it.
      if (!listening.has(c)) {
        listening.add(c);
        c.on('error', () => undefined);
      }
      return c;
    } catch (e) {
      throw unavailable(what, this.location, e);
    }
  }

  private release(c: PoolClient, destroy = false): void {
    if (!this.clients.delete(c)) return;
    c.release(destroy ? true : undefined);
  }

  /** Run fn in a transaction; any failure rolls back (the connection is dropped if ROLLBACK cannot be sent). */
  private async transaction<T>(what: string, fn: (c: PoolClient) => Promise<T>, isolation = ''): Promise<T> {
    const c = await this.connect(what);
    let committing = false;
    try {
      await this.exec(c, 'BEGIN', `BEGIN${isolation}`);
      const r = await fn(c);
      committing = true;
      await this.exec(c, 'COMMIT', 'COMMIT');
      this.release(c);
      return r;
    } catch (e) {
      let rolledBack = false;
      if (!committing) {
        try {
          await this.exec(c, 'ROLLBACK', 'ROLLBACK');
          rolledBack = true;
        } catch {
          // dropping the connection rolls back
        }
      }
      this.release(c, !rolledBack);
      if (e instanceof SquallError) throw e;
      const err = unavailable(what, this.location, e);
      if (committing) this.broken = err;
      throw err;
    }
  }

  // ---- lifecycle -----------------------------------------------------------

  protected async doOpen(): Promise<{ latest: number | null; retained: number[] }> {
    if (this.pool === undefined) {
      const { default: pg } = await import('pg');
      const config: PoolConfig = typeof this.connection === 'string' ? { connectionString: this.connection } : { ...(this.connection ?? {}) };
      config.max ??= 4;
      this.pool = new pg.Pool(config);
      this.pool.on('error', () => undefined);
    }
    const s = this.s;
    const c = await this.connect('connect');
    try {
      await c.query('BEGIN');
      await c.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [`squall-state:${this.schemaName}`]);
      await c.query(`CREATE SCHEMA IF NOT EXISTS ${s}`);
      await c.query(`CREATE TABLE IF NOT EXISTS ${s}.topologies (
        topology text PRIMARY KEY, latest bigint, pruned bigint NOT NULL DEFAULT 0)`);
      await c.query(`CREATE TABLE IF NOT EXISTS ${s}.checkpoints (
        topology text NOT NULL, checkpoint_id bigint NOT NULL, metadata jsonb NOT NULL,
        committed_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (topology, checkpoint_id))`);
      await c.query(`CREATE TABLE IF NOT EXISTS ${s}.keyed_state (
        topology text NOT NULL, component text NOT NULL, key_group integer NOT NULL, key text NOT NULL,
        checkpoint_id bigint NOT NULL, value bytea)`);
      // The key's versions, newest first: the order a read as of a checkpoint wants.
      await c.query(`CREATE UNIQUE INDEX IF NOT EXISTS keyed_state_versions ON ${s}.keyed_state
        (topology, component, key_group, key, checkpoint_id DESC)`);
      // No index by checkpoint id: it cost a third of a full checkpoint's time, and only pruning
      // and going back to an older checkpoint (both rare, off the commit path) scan by it.
      await c.query(`CREATE TABLE IF NOT EXISTS ${s}.operator_state (
        topology text NOT NULL, component text NOT NULL, checkpoint_id bigint NOT NULL, task_index integer NOT NULL,
        value bytea NOT NULL, PRIMARY KEY (topology, component, checkpoint_id, task_index))`);
      await c.query(`INSERT INTO ${s}.topologies (topology) VALUES ($1) ON CONFLICT DO NOTHING`, [this.topology]);
      const t = await c.query(`SELECT latest FROM ${s}.topologies WHERE topology = $1`, [this.topology]);
      const ids = await c.query(`SELECT checkpoint_id FROM ${s}.checkpoints WHERE topology = $1 ORDER BY checkpoint_id`, [this.topology]);
      await c.query('COMMIT');
      this.release(c);
      return { latest: num(t.rows[0]?.latest), retained: ids.rows.map((r) => Number(r.checkpoint_id)) };
    } catch (e) {
      await c.query('ROLLBACK').catch(() => undefined);
      this.release(c, true);
      throw e instanceof SquallError ? e : unavailable('creating the tables', this.location, e);
    }
  }

  protected async doClose(): Promise<void> {
    while (this.pruning !== undefined) await this.pruning;
    if (this.ownPool) await this.pool?.end();
  }

  protected async doAbandon(): Promise<void> {
    this.abandoned = true;
    // Drop the connections: the server rolls back what they had open.
    for (const c of [...this.clients]) this.release(c, true);
    if (this.ownPool) await this.pool?.end().catch(() => undefined);
  }

  // ---- writes ----------------------------------------------------------------

  protected async commitDelta(p: PendingCheckpoint, metadata: string): Promise<number[]> {
    const s = this.s;
    const T = this.topology;
    const retained = await this.transaction(`commit of checkpoint ${p.checkpointId}`, async (c) => {
      const t = await this.exec(c, 'lock', `SELECT latest FROM ${s}.topologies WHERE topology = $1 FOR UPDATE`, [T]);
      const latest = num(t.rows[0]?.latest);
      if (latest !== p.expected) throw fenced(p.checkpointId, p.expected, latest, this.location);
      if (latest !== null && p.checkpointId <= latest) throw oldCheckpoint(p.checkpointId, latest, this.location);
      if (p.base !== null) {
        const b = await this.exec(c, 'base', `SELECT 1 FROM ${s}.checkpoints WHERE topology = $1 AND checkpoint_id = $2`, [T, p.base]);
        if (b.rows.length === 0) throw noCheckpoint(p.base, [], this.location);
      }
      if (latest !== null && p.base !== latest) {
        // Going on from an older checkpoint (or none): what came after it is discarded.
        const after = p.base ?? -1;
        await this.exec(c, 'discard keyed', `DELETE FROM ${s}.keyed_state WHERE topology = $1 AND checkpoint_id > $2`, [T, after]);
        await this.exec(c, 'discard operator', `DELETE FROM ${s}.operator_state WHERE topology = $1 AND checkpoint_id > $2`, [T, after]);
        await this.exec(c, 'discard checkpoints', `DELETE FROM ${s}.checkpoints WHERE topology = $1 AND checkpoint_id > $2`, [T, after]);
      }
      await this.insertKeyed(c, p);
      await this.insertOperator(c, p);
      await this.exec(c, 'checkpoint', `INSERT INTO ${s}.checkpoints (topology, checkpoint_id, metadata) VALUES ($1, $2, $3::jsonb)`, [T, p.checkpointId, metadata]);
      // A checkpoint on nothing (the first, or a full one) has no older versions: nothing to prune up to it.
      await this.exec(
        c,
        'latest',
        p.base === null
          ? `UPDATE ${s}.topologies SET latest = $2, pruned = $2 WHERE topology = $1`
          : `UPDATE ${s}.topologies SET latest = $2 WHERE topology = $1`,
        [T, p.checkpointId],
      );
      const kept = await this.exec(
        c,
        'retain',
        `WITH kept AS (SELECT checkpoint_id FROM ${s}.checkpoints WHERE topology = $1 ORDER BY checkpoint_id DESC LIMIT $2),
              gone AS (DELETE FROM ${s}.checkpoints WHERE topology = $1 AND checkpoint_id NOT IN (SELECT checkpoint_id FROM kept))
         SELECT checkpoint_id FROM kept ORDER BY checkpoint_id`,
        [T, this.retain],
      );
      return kept.rows.map((r) => Number(r.checkpoint_id));
    });
    this.commitsSincePrune++;
    if (this.compactEvery > 0 && this.commitsSincePrune >= this.compactEvery && this.pruning === undefined) {
      this.commitsSincePrune = 0;
      this.pruning = this.prune()
        .catch((e: unknown) => {
          if (!this.abandoned) this.onError?.(e);
        })
        .finally(() => {
          this.pruning = undefined;
        });
    }
    return retained;
  }

  /**
   * The delta's rows, batchRows per statement. A batch travels as four
   * parameters that cost little to encode: key groups and value lengths as
   * comma-separated text, keys as a JSON array, and the values concatenated
   * in one bytea sent in binary (pg's array parameters would encode every
   * element as text: bytea in hex, every key through an escaping regex).
   */
  private async insertKeyed(c: PoolClient, p: PendingCheckpoint): Promise<void> {
    const sql = `INSERT INTO ${this.s}.keyed_state (topology, component, key_group, key, checkpoint_id, value)
      SELECT $1, $2, u.kg, u.k, $3, CASE WHEN u.len < 0 THEN NULL ELSE substring($7::bytea FROM u.off + 1 FOR u.len) END
        FROM unnest(string_to_array($4, ',')::integer[],
                    ARRAY(SELECT e FROM json_array_elements_text($5::json) WITH ORDINALITY AS j(e, i) ORDER BY i),
                    string_to_array($6, ',')::integer[],
                    string_to_array($8, ',')::integer[]) AS u(kg, k, len, off)`;
    // One statement in flight while the next batch is built: the server inserts while we encode.
    let inflight: Promise<unknown> | undefined;
    for (const [component, groups] of p.delta.keyed) {
      let kgs: number[] = [];
      let keys: string[] = [];
      let lens: number[] = [];
      let offs: number[] = [];
      let values: Buffer[] = [];
      let bytes = 0;
      const flush = async (): Promise<void> => {
        if (keys.length === 0) return;
        const params = [
          this.topology,
          component,
          p.checkpointId,
          kgs.join(','),
          JSON.stringify(keys),
          lens.join(','),
          Buffer.concat(values, bytes),
          offs.join(','),
        ];
        if (inflight !== undefined) await inflight;
        inflight = this.exec(c, 'insert keyed', sql, params);
        inflight.catch(() => undefined); // awaited below; not an unhandled rejection meanwhile
        kgs = [];
        keys = [];
        lens = [];
        offs = [];
        values = [];
        bytes = 0;
      };
      for (const [kg, entries] of groups) {
        for (const [key, value] of entries) {
          kgs.push(kg);
          keys.push(key);
          offs.push(bytes);
          if (value === null) lens.push(-1);
          else {
            lens.push(value.length);
            values.push(asBuffer(value));
            bytes += value.length;
          }
          if (keys.length >= this.batchRows) await flush();
        }
      }
      await flush();
    }
    if (inflight !== undefined) await inflight;
  }

  private async insertOperator(c: PoolClient, p: PendingCheckpoint): Promise<void> {
    if (p.delta.operator.size === 0) return;
    const components: string[] = [];
    const tasks: number[] = [];
    const values: Buffer[] = [];
    for (const [component, byTask] of p.delta.operator) {
      for (const [task, value] of byTask) {
        components.push(component);
        tasks.push(task);
        values.push(asBuffer(value));
      }
    }
    await this.exec(
      c,
      'insert operator',
      `INSERT INTO ${this.s}.operator_state (topology, component, checkpoint_id, task_index, value)
       SELECT $1, u.c, $2, u.t, u.v FROM unnest($3::text[], $4::integer[], $5::bytea[]) AS u(c, t, v)`,
      [this.topology, p.checkpointId, components, tasks, values],
    );
  }

  protected async abortDelta(): Promise<void> {
    // Nothing is written before the commit's transaction.
  }

  protected async doDropComponent(component: string): Promise<void> {
    const s = this.s;
    const T = this.topology;
    await this.transaction(`dropping ${component}`, async (c) => {
      await this.exec(c, 'lock', `SELECT latest FROM ${s}.topologies WHERE topology = $1 FOR UPDATE`, [T]);
      await this.exec(c, 'drop keyed', `DELETE FROM ${s}.keyed_state WHERE topology = $1 AND component = $2`, [T, component]);
      await this.exec(c, 'drop operator', `DELETE FROM ${s}.operator_state WHERE topology = $1 AND component = $2`, [T, component]);
    });
  }

  protected async doCompact(): Promise<void> {
    while (this.pruning !== undefined) await this.pruning;
    await this.prune();
  }

  /**
   * Delete versions no kept checkpoint needs. With r the oldest kept
   * checkpoint and p the r of the last prune (`pruned`): a version is
   * superseded when the same key has a newer version <= r, and that newer
   * version is in (p, r] (older ones were pruned already); a delete in
   * (p, r] goes too, once what it deleted is gone. Reads of any kept
   * checkpoint see the same state before and after.
   */
  private async prune(): Promise<void> {
    const s = this.s;
    const T = this.topology;
    await this.transaction('pruning', async (c) => {
      const t = await this.exec(c, 'lock', `SELECT pruned FROM ${s}.topologies WHERE topology = $1 FOR UPDATE`, [T]);
      const pruned = num(t.rows[0]?.pruned) ?? 0;
      const o = await this.exec(c, 'oldest', `SELECT min(checkpoint_id) AS r FROM ${s}.checkpoints WHERE topology = $1`, [T]);
      const r = num(o.rows[0]?.r);
      if (r === null || r <= pruned) return;
      await this.exec(
        c,
        'prune superseded',
        `DELETE FROM ${s}.keyed_state AS v USING ${s}.keyed_state AS n
          WHERE n.topology = $1 AND n.checkpoint_id > $2 AND n.checkpoint_id <= $3
            AND v.topology = $1 AND v.component = n.component AND v.key_group = n.key_group AND v.key = n.key
            AND v.checkpoint_id < n.checkpoint_id`,
        [T, pruned, r],
      );
      await this.exec(
        c,
        'prune deletes',
        `DELETE FROM ${s}.keyed_state WHERE topology = $1 AND checkpoint_id > $2 AND checkpoint_id <= $3 AND value IS NULL`,
        [T, pruned, r],
      );
      await this.exec(
        c,
        'prune operator',
        `DELETE FROM ${s}.operator_state AS v
          WHERE v.topology = $1 AND v.checkpoint_id < (
            SELECT max(checkpoint_id) FROM ${s}.operator_state AS n
             WHERE n.topology = $1 AND n.component = v.component AND n.checkpoint_id <= $2)`,
        [T, r],
      );
      await this.exec(c, 'pruned', `UPDATE ${s}.topologies SET pruned = $2 WHERE topology = $1`, [T, r]);
    });
  }

  // ---- reads -----------------------------------------------------------------

  private async retainedIn(c: PoolClient): Promise<number[]> {
    const r = await c.query(`SELECT checkpoint_id FROM ${this.s}.checkpoints WHERE topology = $1 ORDER BY checkpoint_id`, [this.topology]);
    return r.rows.map((x) => Number(x.checkpoint_id));
  }

  protected async doLatest(): Promise<LatestCheckpoint | null> {
    const c = await this.connect('reading the newest checkpoint');
    try {
      const r = await c.query(
        `SELECT c.checkpoint_id, c.metadata FROM ${this.s}.topologies t
           JOIN ${this.s}.checkpoints c ON c.topology = t.topology AND c.checkpoint_id = t.latest
          WHERE t.topology = $1`,
        [this.topology],
      );
      const row = r.rows[0];
      return row === undefined ? null : { id: Number(row.checkpoint_id), metadata: row.metadata as CheckpointMetadata, skipped: [] };
    } catch (e) {
      throw unavailable('reading the newest checkpoint', this.location, e);
    } finally {
      this.release(c);
    }
  }

  protected async doCheckpoints(): Promise<number[]> {
    const c = await this.connect('listing checkpoints');
    try {
      return await this.retainedIn(c);
    } catch (e) {
      throw unavailable('listing checkpoints', this.location, e);
    } finally {
      this.release(c);
    }
  }

  /** Read in one snapshot: a repeatable-read, read-only transaction. */
  private async snapshot<T>(what: string, checkpointId: number, fn: (c: PoolClient) => Promise<T>): Promise<T> {
    const c = await this.connect(what);
    let ok = false;
    try {
      await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      const retained = await this.retainedIn(c);
      if (!retained.includes(checkpointId)) throw noCheckpoint(checkpointId, retained, this.location);
      const r = await fn(c);
      await c.query('COMMIT');
      ok = true;
      return r;
    } catch (e) {
      if (e instanceof SquallError) throw e;
      throw unavailable(what, this.location, e);
    } finally {
      // Ended early (an error, or the reader stopped): roll back; drop the connection if even that fails.
      if (!ok) ok = await c.query('ROLLBACK').then(() => true, () => false);
      this.release(c, !ok);
    }
  }

  protected async *doReadKeyed(checkpointId: number, component: string, from: number, to: number): AsyncGenerator<KeyedBatch> {
    const c = await this.connect('reading keyed state');
    let ok = false;
    try {
      await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      const retained = await this.retainedIn(c);
      if (!retained.includes(checkpointId)) throw noCheckpoint(checkpointId, retained, this.location);
      for (let lo = from; lo <= to; lo += KEY_GROUP_CHUNK) {
        const hi = Math.min(to, lo + KEY_GROUP_CHUNK - 1);
        // Per key group one row: its keys as a JSON array, the values' lengths, and the values
        // concatenated (one hex decode per key group instead of one per value, no row per key).
        const r = await c.query({
          text: `SELECT key_group, json_agg(key) AS keys, string_agg(length(value)::text, ',') AS lens, string_agg(value, ''::bytea) AS vals
                   FROM (SELECT DISTINCT ON (key_group, key) key_group, key, value FROM ${this.s}.keyed_state
                          WHERE topology = $1 AND component = $2 AND key_group BETWEEN $3 AND $4 AND checkpoint_id <= $5
                          ORDER BY key_group, key, checkpoint_id DESC) AS v
                  WHERE value IS NOT NULL
                  GROUP BY key_group ORDER BY key_group`,
          values: [this.topology, component, lo, hi, checkpointId],
          rowMode: 'array',
          types: { getTypeParser: rawText },
        });
        for (const row of r.rows as Array<[string, string, string, string]>) {
          const keys = JSON.parse(row[1]) as string[];
          const lens = row[2].split(',');
          const vals = Buffer.from(row[3].slice(2), 'hex');
          const values: Uint8Array[] = new Array(keys.length);
          let off = 0;
          for (let i = 0; i < keys.length; i++) {
            const n = Number(lens[i]);
            values[i] = vals.subarray(off, off + n);
            off += n;
          }
          yield { keyGroup: Number(row[0]), keys, values };
        }
      }
      await c.query('COMMIT');
      ok = true;
    } catch (e) {
      if (e instanceof SquallError) throw e;
      throw unavailable('reading keyed state', this.location, e);
    } finally {
      // Ended early (an error, or the reader stopped): roll back; drop the connection if even that fails.
      if (!ok) ok = await c.query('ROLLBACK').then(() => true, () => false);
      this.release(c, !ok);
    }
  }

  protected async doReadOperator(checkpointId: number, component: string): Promise<OperatorEntry[]> {
    return this.snapshot('reading operator state', checkpointId, async (c) => {
      const r = await c.query(
        `SELECT task_index, value FROM ${this.s}.operator_state
          WHERE topology = $1 AND component = $2 AND checkpoint_id = (
            SELECT max(checkpoint_id) FROM ${this.s}.operator_state WHERE topology = $1 AND component = $2 AND checkpoint_id <= $3)
          ORDER BY task_index`,
        [this.topology, component, checkpointId],
      );
      return r.rows.map((row) => ({ taskIndex: Number(row.task_index), value: row.value as Buffer }));
    });
  }
}
