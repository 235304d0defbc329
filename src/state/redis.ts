/**
 * The Redis store (ioredis). A writer stages its delta under keys of its
 * own (pipelined HSETs, with a TTL so a crashed writer's staging expires),
 * then one Lua script commits: it checks that the newest checkpoint is the
 * one the writer expects (fencing a stale writer) and that everything
 * staged is there, applies the delta to the live hashes while keeping an
 * undo log (so the previous checkpoint stays readable), moves `latest`,
 * and trims what retention lets go. Redis runs a script atomically, so a
 * checkpoint is applied whole or not at all, unlike Storm's RedisKeyValueState,
 * whose commit is separate HMSET and HDEL calls. How durable a commit is
 * depends on the server's persistence (appendonly, appendfsync): see
 * docs/state.md. Key layout: redis-scripts.ts.
 */
import { createHash } from 'node:crypto';
import type { Redis, RedisOptions } from 'ioredis';
import { SquallError } from '../errors/index.ts';
import { StoreBase } from './base.ts';
import type { PendingCheckpoint, StoreOptionsBase } from './base.ts';
import { badArgument, corrupt, fenced, noCheckpoint, oldCheckpoint, unavailable } from './errors.ts';
import { randomSuffix } from './files.ts';
import { COMMIT, DROP, LATEST, READ_KEYED, READ_OPERATOR } from './redis-scripts.ts';
import type { CheckpointMetadata, KeyedBatch, LatestCheckpoint, OperatorEntry } from './types.ts';

export interface RedisStoreOptions extends StoreOptionsBase {
  /** The topology: the store's keys are under <prefix>{<topology>}. */
  readonly topology: string;
  /** A redis:// URL (default redis://127.0.0.1:6379) or ioredis options; the store makes and quits its client… */
  readonly connection?: string | RedisOptions;
  /** … or a client of yours (not quit by close(); set autoResendUnfulfilledCommands: false on it). */
  readonly redis?: Redis;
  /** Key prefix (default 'squall:'). */
  readonly prefix?: string;
  /** Entries per staging pipeline (default 10000). */
  readonly batchEntries?: number;
  /** Seconds a crashed writer's staged delta lives (default 3600). */
  readonly stageTtlSeconds?: number;
}

const PUT = Buffer.from('P');
const DEL = Buffer.from('D');
const HSET_PAIRS = 1000;

type Script = 'commit' | 'readKeyed' | 'readOperator' | 'latest' | 'drop';
const SCRIPTS: Record<Script, string> = {
  commit: COMMIT,
  readKeyed: READ_KEYED,
  readOperator: READ_OPERATOR,
  latest: LATEST,
  drop: DROP,
};
const SHAS = Object.fromEntries(Object.entries(SCRIPTS).map(([k, v]) => [k, createHash('sha1').update(v).digest('hex')])) as Record<Script, string>;

function asBuffer(v: Uint8Array): Buffer {
  return v instanceof Buffer ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}

export class RedisStore extends StoreBase {
  readonly kind = 'redis' as const;
  readonly location: string;
  /** The key prefix of this topology: <prefix>{<topology>}. */
  readonly keyPrefix: string;
  private readonly own: boolean;
  private readonly connection: string | RedisOptions | undefined;
  private client: Redis | undefined;
  private readonly batchEntries: number;
  private readonly ttl: number;
  private abandoned = false;

  constructor(options: RedisStoreOptions) {
    super(options);
    if (typeof options.topology !== 'string' || options.topology.length === 0) throw badArgument('a Redis state store needs a topology name');
    this.keyPrefix = `${options.prefix ?? 'squall:'}{${options.topology}}`;
    this.location = `redis keys ${this.keyPrefix}:*`;
    this.own = options.redis === undefined;
    this.client = options.redis;
    this.connection = options.connection;
    this.batchEntries = options.batchEntries ?? 10_000;
    this.ttl = options.stageTtlSeconds ?? 3600;
  }

  protected override step(name: string): void {
    if (this.abandoned) throw new SquallError({ code: 'E_BAD_STATE', message: `the state store ${this.location} was abandoned` });
    super.step(name);
  }

  private get redis(): Redis {
    return this.client!;
  }

  /** Run a script by its SHA, loading it if the server does not have it. */
  private async script(name: Script, key: string, args: Array<string | number | Buffer>, buffers: boolean): Promise<unknown> {
    const run = (): Promise<unknown> =>
      buffers ? this.redis.callBuffer('EVALSHA', SHAS[name], 1, key, ...args) : this.redis.call('EVALSHA', SHAS[name], 1, key, ...args);
    try {
      return await run();
    } catch (e) {
      if (!String((e as Error).message).startsWith('NOSCRIPT')) throw e;
      await this.redis.script('LOAD', SCRIPTS[name]);
      return run();
    }
  }

  private k(suffix: string): string {
    return `${this.keyPrefix}:${suffix}`;
  }

  // ---- lifecycle -----------------------------------------------------------

  protected async doOpen(): Promise<{ latest: number | null; retained: number[] }> {
    if (this.client === undefined) {
      const { Redis: RedisClient } = await import('ioredis');
      const base: RedisOptions = { lazyConnect: true, maxRetriesPerRequest: 2, autoResendUnfulfilledCommands: false, enableOfflineQueue: false };
      this.client =
        typeof this.connection === 'string'
          ? new RedisClient(this.connection, base)
          : new RedisClient({ host: '127.0.0.1', port: 6379, ...base, ...(this.connection ?? {}) });
      this.client.on('error', () => undefined); // reported by the command that fails
      try {
        await this.client.connect();
      } catch (e) {
        throw unavailable('connect', this.location, e);
      }
    }
    try {
      for (const s of Object.values(SCRIPTS)) await this.redis.script('LOAD', s);
      const [latest, ids] = await Promise.all([this.redis.get(this.k('latest')), this.redis.zrange(this.k('ids'), 0, -1)]);
      return { latest: latest === null ? null : Number(latest), retained: ids.map(Number) };
    } catch (e) {
      throw unavailable('reading the newest checkpoint', this.location, e);
    }
  }

  protected async doClose(): Promise<void> {
    if (this.own) await this.client?.quit().catch(() => undefined);
  }

  protected async doAbandon(): Promise<void> {
    this.abandoned = true;
    if (this.own) this.client?.disconnect();
  }

  // ---- writes ----------------------------------------------------------------

  protected async commitDelta(p: PendingCheckpoint, metadata: string): Promise<number[]> {
    const token = randomSuffix() + randomSuffix();
    const staged: string[] = [];
    const keyedSpec: Array<string | number> = [];
    const opSpec: Array<string | number> = [];
    try {
      // Stage: pipelines of HSETs, each a step.
      let pipe = this.redis.pipeline();
      let queued = 0;
      const flush = async (): Promise<void> => {
        if (queued === 0) return;
        const pl = pipe;
        pipe = this.redis.pipeline();
        queued = 0;
        this.step('redis stage');
        const results = (await pl.exec()) ?? [];
        for (const [err] of results) if (err) throw err;
        this.step('redis stage done');
      };
      // A full checkpoint (no base) stages plain values and leaves deletes out: the script renames
      // its staged hashes into place. A delta tags each value: 'P' put, 'D' delete.
      const full = p.base === null;
      for (const [component, groups] of p.delta.keyed) {
        for (const [kg, entries] of groups) {
          let count = entries.size;
          if (full) for (const v of entries.values()) if (v === null) count--;
          if (count === 0) continue;
          const sk = this.k(`s:${token}:${component}:${kg}`);
          staged.push(sk);
          keyedSpec.push(component, kg, count);
          let args: Array<string | Buffer> = [];
          for (const [key, value] of entries) {
            if (full) {
              if (value === null) continue;
              args.push(key, asBuffer(value));
            } else args.push(key, value === null ? DEL : Buffer.concat([PUT, asBuffer(value)]));
            if (args.length >= HSET_PAIRS * 2) {
              pipe.hset(sk, ...args);
              args = [];
            }
            if (++queued >= this.batchEntries) {
              if (args.length > 0) pipe.hset(sk, ...args);
              args = [];
              pipe.expire(sk, this.ttl);
              await flush();
            }
          }
          if (args.length > 0) pipe.hset(sk, ...args);
          pipe.expire(sk, this.ttl);
          queued++;
        }
      }
      for (const [component, tasks] of p.delta.operator) {
        const sk = this.k(`so:${token}:${component}`);
        staged.push(sk);
        opSpec.push(component, tasks.size);
        const args: Array<string | Buffer> = [];
        for (const [task, value] of tasks) args.push(String(task), asBuffer(value));
        pipe.hset(sk, ...args);
        pipe.expire(sk, this.ttl);
        queued += tasks.size;
      }
      await flush();

      // Commit: one script.
      this.step('redis commit');
      let ids: string[];
      try {
        ids = (await this.script(
          'commit',
          this.k('latest'),
          [
            this.keyPrefix,
            p.base === null ? '' : String(p.base),
            p.expected === null ? '' : String(p.expected),
            String(p.checkpointId),
            metadata,
            this.retain,
            token,
            keyedSpec.length / 3,
            ...keyedSpec,
            opSpec.length / 2,
            ...opSpec,
          ],
          false,
        )) as string[];
      } catch (e) {
        const msg = String((e as Error).message);
        const m = /SQUALL_(FENCED|OLD|NOBASE) ?(\d*)/.exec(msg);
        if (m !== null) {
          const found = m[2] === '' || m[2] === undefined ? null : Number(m[2]);
          if (m[1] === 'FENCED') throw fenced(p.checkpointId, p.expected, found, this.location);
          if (m[1] === 'OLD') throw oldCheckpoint(p.checkpointId, found ?? 0, this.location);
          throw noCheckpoint(p.base ?? 0, [], this.location);
        }
        if (!msg.includes('SQUALL_STAGE')) this.broken = unavailable('commit', this.location, e); // the reply was lost: committed or not
        throw e;
      }
      this.step('redis commit done');
      return ids.map(Number);
    } catch (e) {
      if (staged.length > 0 && !this.abandoned) {
        try {
          this.step('redis unstage');
          await this.redis.del(...staged);
        } catch {
          // they expire
        }
      }
      if (e instanceof SquallError) throw e;
      throw unavailable(`commit of checkpoint ${p.checkpointId}`, this.location, e);
    }
  }

  protected async abortDelta(): Promise<void> {
    // Nothing is staged before commit.
  }

  protected async doDropComponent(component: string): Promise<void> {
    this.step('redis drop');
    try {
      await this.script('drop', this.k('comps'), [this.keyPrefix, component], false);
    } catch (e) {
      throw unavailable(`dropping ${component}`, this.location, e);
    }
    this.step('redis drop done');
  }

  protected async doCompact(): Promise<void> {
    // Retention is applied by every commit: nothing to fold.
  }

  // ---- reads -----------------------------------------------------------------

  private async retainedIds(): Promise<number[]> {
    return (await this.redis.zrange(this.k('ids'), 0, -1)).map(Number);
  }

  private async rethrow(e: unknown, checkpointId: number, what: string): Promise<never> {
    if (e instanceof SquallError) throw e;
    if (String((e as Error).message).includes('SQUALL_NOCKPT')) throw noCheckpoint(checkpointId, await this.retainedIds().catch(() => []), this.location);
    throw unavailable(what, this.location, e);
  }

  protected async doLatest(): Promise<LatestCheckpoint | null> {
    let r: [string, string | null] | [];
    try {
      r = (await this.script('latest', this.k('latest'), [this.keyPrefix], false)) as [string, string | null] | [];
    } catch (e) {
      throw unavailable('reading the newest checkpoint', this.location, e);
    }
    if (r.length === 0) return null;
    const id = Number(r[0]);
    let metadata: CheckpointMetadata;
    try {
      metadata = JSON.parse(r[1] ?? 'null') as CheckpointMetadata;
      if (typeof metadata !== 'object' || metadata === null) throw new Error('not a JSON object');
    } catch (e) {
      throw corrupt(this.k('meta'), `the metadata of checkpoint ${id} is not a JSON object`, id, null, e);
    }
    return { id, metadata, skipped: [] };
  }

  protected async doCheckpoints(): Promise<number[]> {
    try {
      return await this.retainedIds();
    } catch (e) {
      throw unavailable('listing checkpoints', this.location, e);
    }
  }

  protected async *doReadKeyed(checkpointId: number, component: string, from: number, to: number): AsyncGenerator<KeyedBatch> {
    let groups: number[];
    try {
      if ((await this.redis.zscore(this.k('ids'), String(checkpointId))) === null) {
        throw noCheckpoint(checkpointId, await this.retainedIds(), this.location);
      }
      groups = (await this.redis.smembers(this.k(`kgs:${component}`))).map(Number).filter((kg) => kg >= from && kg <= to);
    } catch (e) {
      return await this.rethrow(e, checkpointId, 'reading keyed state');
    }
    groups.sort((a, b) => a - b);
    for (const kg of groups) {
      let flat: Buffer[];
      try {
        flat = (await this.script('readKeyed', this.k('ids'), [this.keyPrefix, component, String(kg), String(checkpointId)], true)) as Buffer[];
      } catch (e) {
        return await this.rethrow(e, checkpointId, 'reading keyed state');
      }
      if (flat.length === 0) continue;
      const keys: string[] = [];
      const values: Uint8Array[] = [];
      for (let i = 0; i < flat.length; i += 2) {
        keys.push(flat[i]!.toString('utf8'));
        values.push(flat[i + 1]!);
      }
      yield { keyGroup: kg, keys, values };
    }
  }

  protected async doReadOperator(checkpointId: number, component: string): Promise<OperatorEntry[]> {
    let flat: Buffer[];
    try {
      flat = (await this.script('readOperator', this.k('ids'), [this.keyPrefix, component, String(checkpointId)], true)) as Buffer[];
    } catch (e) {
      return this.rethrow(e, checkpointId, 'reading operator state');
    }
    const out: OperatorEntry[] = [];
    for (let i = 0; i < flat.length; i += 2) out.push({ taskIndex: Number(flat[i]!.toString()), value: flat[i + 1]! });
    return out;
  }
}
