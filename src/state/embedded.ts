/**
 * The embedded store: checkpoints as files in a state directory.
 *
 *   CURRENT               the manifest: the completed checkpoints kept, each
 *                         with its metadata and the chain of files that holds
 *                         its state (a base, then deltas), and components
 *                         dropped from files. JSON and its CRC-32; replaced
 *                         atomically (CURRENT.tmp, fsync, rename, fsync dir).
 *   d-<id>-<rand>.sqs     checkpoint <id>'s delta: what changed since its base
 *   b-<id>-<rand>.sqs     a base: the whole state as of checkpoint <id>, folded
 *                         from a chain by compaction
 *   LOCK                  the process using the directory
 *
 * A commit writes its delta file atomically, then the new CURRENT: the
 * rename of CURRENT is the commit point. Files no CURRENT names (a crash
 * before the rename; files retention or compaction let go) are deleted when
 * the store opens and after each commit. Files are immutable (file-format.ts).
 */
import { mkdir, open, readdir, readFile, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { StoreBase, keyedCount } from './base.ts';
import type { Delta, PendingCheckpoint, StoreOptionsBase } from './base.ts';
import { crc32 } from './crc32.ts';
import { badState, corrupt, fenced, noCheckpoint, oldCheckpoint } from './errors.ts';
import { AtomicFile, acquireLock, forgetLock, io, randomSuffix, releaseLock, syncDirectory } from './files.ts';
import {
  FileBuilder,
  FormatError,
  applyKeyedBlock,
  decodeOperatorBlock,
  encodeKeyedBlock,
  encodeKeyedColumns,
  encodeOperatorBlock,
  readIndex,
  readKeyedColumns,
  verifyBlock,
} from './file-format.ts';
import type { BlockRef, FileIndex } from './file-format.ts';
import type { CheckpointMetadata, KeyedBatch, LatestCheckpoint, LatestOptions, OperatorEntry, SkippedCheckpoint } from './types.ts';

export interface CompactionOptions {
  /** Compact in the background after commits (default true). */
  readonly auto?: boolean;
  /** Fold the oldest kept checkpoint's chain once it has this many deltas (default 16). */
  readonly maxDeltas?: number;
  /** … or once its deltas add up to this fraction of its base's bytes (default 0.5). */
  readonly deltaRatio?: number;
}

export interface EmbeddedStoreOptions extends StoreOptionsBase {
  /** The state directory (created if missing). See defaultStateDir. */
  readonly dir: string;
  /** fsync files and the directory (default true). Off only for throwaway state. */
  readonly sync?: boolean;
  readonly compaction?: CompactionOptions;
  /** Background compaction failed (the state is safe; chains grow until it succeeds). */
  readonly onError?: (error: unknown) => void;
}

/** The default state directory of a topology: .squall/state/<topology>, under `root`. */
export function defaultStateDir(topology: string, root = join('.squall', 'state')): string {
  return join(root, encodeURIComponent(topology));
}

interface ManifestCheckpoint {
  readonly id: number;
  readonly metadata: CheckpointMetadata;
  /** The chain: a base (or the oldest delta), then deltas, oldest first. */
  readonly files: readonly string[];
}

interface Manifest {
  readonly format: 1;
  readonly seq: number;
  /** Oldest first. */
  readonly checkpoints: readonly ManifestCheckpoint[];
  /** component -> files whose sections for it are ignored (dropComponent). */
  readonly dropped: Readonly<Record<string, readonly string[]>>;
  /** Counts dropComponent calls: compaction started before one must not land. */
  readonly dropSeq: number;
}

const EMPTY: Manifest = { format: 1, seq: 0, checkpoints: [], dropped: {}, dropSeq: 0 };
const OUR_FILE = /^(?:[db]-\d+-[0-9a-f]+\.sqs(?:\.tmp)?|CURRENT\.tmp|LOCK\.[0-9a-f]+\.tmp)$/;

function encodeManifest(m: Manifest): Buffer {
  const json = Buffer.from(JSON.stringify(m), 'utf8');
  return Buffer.concat([json, Buffer.from(`\n${crc32(json).toString(16).padStart(8, '0')}\n`, 'latin1')]);
}

function decodeManifest(buf: Buffer): Manifest {
  const text = buf.toString('latin1');
  const m = /\n([0-9a-f]{8})\n$/.exec(text);
  if (m === null) throw new FormatError('truncated: no checksum line at its end');
  const json = buf.subarray(0, buf.length - 10);
  if (crc32(json).toString(16).padStart(8, '0') !== m[1]) throw new FormatError('damaged: it fails its CRC-32');
  const parsed = JSON.parse(json.toString('utf8')) as Manifest;
  if (parsed.format !== 1 || !Array.isArray(parsed.checkpoints)) throw new FormatError('not a squall manifest');
  return parsed;
}

function startsWith(files: readonly string[], prefix: readonly string[]): boolean {
  if (files.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (files[i] !== prefix[i]) return false;
  return true;
}

function sortedKeys<K extends string | number>(m: Map<K, unknown>): K[] {
  const keys = [...m.keys()];
  return typeof keys[0] === 'number' ? keys.sort((a, b) => (a as number) - (b as number)) : keys.sort();
}

/** A chain file opened for reading. */
interface Part {
  readonly file: string;
  readonly index: FileIndex;
  readonly handle: FileHandle;
}

type IndexResult = { ok: true; index: FileIndex } | { ok: false; reason: string };

export class EmbeddedStore extends StoreBase {
  readonly kind = 'embedded' as const;
  readonly location: string;
  private readonly dir: string;
  private readonly sync: boolean;
  private readonly auto: boolean;
  private readonly maxDeltas: number;
  private readonly deltaRatio: number;
  private readonly onError: ((error: unknown) => void) | undefined;
  private manifest: Manifest = EMPTY;
  private lockToken: string | undefined;
  private abandoned = false;
  private closing = false;
  /** Parsed footers (files never change). */
  private readonly indexes = new Map<string, IndexResult>();
  /** Files whose every block has been checked, and the result. */
  private readonly verified = new Map<string, string | null>();
  private readonly pins = new Map<string, number>();
  /** Files being written outside the lock (compaction's new base). */
  private readonly inProgress = new Set<string>();
  private mutex: Promise<unknown> = Promise.resolve();
  private compacting: Promise<void> | undefined;

  constructor(options: EmbeddedStoreOptions) {
    super(options);
    this.dir = resolve(options.dir);
    this.location = this.dir;
    this.sync = options.sync ?? true;
    this.auto = options.compaction?.auto ?? true;
    this.maxDeltas = options.compaction?.maxDeltas ?? 16;
    this.deltaRatio = options.compaction?.deltaRatio ?? 0.5;
    this.onError = options.onError;
  }

  protected override step(name: string): void {
    if (this.abandoned) throw badState(`the state store ${this.location} was abandoned`);
    super.step(name);
  }

  private readonly stepFn = (name: string): void => this.step(name);

  private path(file: string): string {
    return join(this.dir, file);
  }

  /** Run fn with no other commit, compaction swap or drop in between. */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const r = this.mutex.then(fn, fn);
    this.mutex = r.catch(() => undefined);
    return r;
  }

  // ---- lifecycle -----------------------------------------------------------

  protected async doOpen(): Promise<{ latest: number | null; retained: number[] }> {
    const created = await mkdir(this.dir, { recursive: true });
    // A new directory's name must be durable too, or its first checkpoint could vanish with it.
    if (created !== undefined && this.sync) {
      for (let d = this.dir; ; d = dirname(d)) {
        await syncDirectory(dirname(d));
        if (d === resolve(created) || dirname(d) === d) break;
      }
    }
    this.lockToken = await acquireLock(this.dir);
    this.manifest = await this.readManifest();
    await this.exclusive(() => this.collectGarbage());
    const ids = this.manifest.checkpoints.map((c) => c.id);
    return { latest: ids.length === 0 ? null : ids[ids.length - 1]!, retained: ids };
  }

  protected async doClose(): Promise<void> {
    this.closing = true;
    while (this.compacting !== undefined) await this.compacting;
    await this.exclusive(async () => undefined);
    if (this.lockToken !== undefined) await releaseLock(this.dir, this.lockToken);
  }

  protected async doAbandon(): Promise<void> {
    this.abandoned = true;
    if (this.lockToken !== undefined) forgetLock(this.dir, this.lockToken);
  }

  private async readManifest(): Promise<Manifest> {
    let buf: Buffer;
    try {
      buf = await readFile(this.path('CURRENT'));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return EMPTY;
      throw e;
    }
    try {
      return decodeManifest(buf);
    } catch (e) {
      const reason = e instanceof FormatError ? e.message : `damaged: ${(e as Error).message}`;
      const err = corrupt(this.path('CURRENT'), reason, null, null, e);
      err.message = `the state manifest ${this.path('CURRENT')} is corrupt: ${reason}. It names the completed checkpoints, so none can be restored through it; the checkpoint files beside it are left untouched. Move the state directory away to start from empty state`;
      throw err;
    }
  }

  private async writeManifest(next: Manifest): Promise<void> {
    const f = await AtomicFile.create(this.stepFn, this.dir, 'CURRENT', this.sync);
    try {
      await f.write(encodeManifest(next));
    } catch (e) {
      await f.discard();
      throw e;
    }
    try {
      await f.finish();
    } catch (e) {
      // The rename may or may not have happened: only a reopen can tell.
      this.broken = e as Error;
      throw e;
    }
  }

  private nextManifest(m: Manifest, checkpoints: readonly ManifestCheckpoint[], dropped: Manifest['dropped'], dropSeq: number): Manifest {
    const referenced = new Set(checkpoints.flatMap((c) => c.files));
    const keep: Record<string, string[]> = {};
    for (const [component, files] of Object.entries(dropped)) {
      const still = files.filter((f) => referenced.has(f));
      if (still.length > 0) keep[component] = still;
    }
    return { format: 1, seq: m.seq + 1, checkpoints, dropped: keep, dropSeq };
  }

  // ---- files -----------------------------------------------------------------

  private async indexOf(file: string): Promise<IndexResult> {
    const cached = this.indexes.get(file);
    if (cached !== undefined) return cached;
    let result: IndexResult;
    let h: FileHandle | undefined;
    try {
      h = await open(this.path(file), 'r');
      const { size } = await h.stat();
      const handle = h;
      const index = await readIndex(size, async (offset, length) => {
        const b = Buffer.allocUnsafe(length);
        const { bytesRead } = await handle.read(b, 0, length, offset);
        if (bytesRead !== length) throw new FormatError('truncated');
        return b;
      });
      result = { ok: true, index };
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') result = { ok: false, reason: 'the file is missing' };
      else if (e instanceof FormatError) result = { ok: false, reason: e.message };
      else if (e instanceof RangeError || e instanceof TypeError) result = { ok: false, reason: `damaged: ${e.message}` };
      else throw e;
    } finally {
      await h?.close();
    }
    this.indexes.set(file, result);
    return result;
  }

  /** Every block of a file, checked against its CRC; null when it verifies, else why not. */
  private async verifyFile(file: string): Promise<string | null> {
    const cached = this.verified.get(file);
    if (cached !== undefined) return cached;
    const idx = await this.indexOf(file);
    let reason: string | null = null;
    if (!idx.ok) reason = idx.reason;
    else {
      try {
        const buf = await readFile(this.path(file));
        const check = (ref: BlockRef): void => verifyBlock(buf.subarray(ref.offset, ref.offset + ref.length), ref);
        for (const groups of idx.index.keyed.values()) for (const ref of groups.values()) check(ref);
        for (const ref of idx.index.operator.values()) check(ref);
      } catch (e) {
        if (e instanceof FormatError) reason = e.message;
        else if ((e as NodeJS.ErrnoException).code === 'ENOENT') reason = 'the file is missing';
        else throw e;
      }
    }
    this.verified.set(file, reason);
    return reason;
  }

  /** The first file of a chain that does not verify (footers only, or every block). */
  private async checkChain(ck: ManifestCheckpoint, full: boolean): Promise<{ file: string; reason: string } | null> {
    for (const f of ck.files) {
      const idx = await this.indexOf(f);
      if (!idx.ok) return { file: f, reason: idx.reason };
      if (full) {
        const reason = await this.verifyFile(f);
        if (reason !== null) return { file: f, reason };
      }
    }
    return null;
  }

  /** The kept checkpoints older than `id` whose files look intact. */
  private async restorableBefore(id: number): Promise<number[]> {
    const out: number[] = [];
    for (const ck of this.manifest.checkpoints) {
      if (ck.id >= id) break;
      if ((await this.checkChain(ck, false)) === null) out.push(ck.id);
    }
    return out;
  }

  private async corruptFile(file: string, reason: string, checkpointId: number): Promise<Error> {
    return corrupt(this.path(file), reason, checkpointId, await this.restorableBefore(checkpointId));
  }

  private pin(files: readonly string[]): void {
    for (const f of files) this.pins.set(f, (this.pins.get(f) ?? 0) + 1);
  }

  private unpin(files: readonly string[]): void {
    for (const f of files) {
      const n = (this.pins.get(f) ?? 1) - 1;
      if (n > 0) this.pins.set(f, n);
      else this.pins.delete(f);
    }
  }

  private isDropped(component: string, file: string, m: Manifest = this.manifest): boolean {
    const files = m.dropped[component];
    return files !== undefined && files.includes(file);
  }

  /** Open the files of a chain that hold something of `component` (all components: undefined). */
  private async openParts(ck: ManifestCheckpoint, m: Manifest, component?: string): Promise<Part[]> {
    const parts: Part[] = [];
    try {
      for (const file of ck.files) {
        if (component !== undefined && this.isDropped(component, file, m)) continue;
        const idx = await this.indexOf(file);
        if (!idx.ok) throw await this.corruptFile(file, idx.reason, ck.id);
        if (component !== undefined && !idx.index.keyed.has(component) && !idx.index.operator.has(component)) continue;
        const handle = await open(this.path(file), 'r');
        parts.push({ file, index: idx.index, handle });
      }
    } catch (e) {
      await closeParts(parts);
      throw e;
    }
    return parts;
  }

  private async readBlock(part: Part, ref: BlockRef, checkpointId: number): Promise<Buffer> {
    const buf = Buffer.allocUnsafe(ref.length);
    const { bytesRead } = await part.handle.read(buf, 0, ref.length, ref.offset);
    try {
      if (bytesRead !== ref.length) throw new FormatError(`truncated: a block at offset ${ref.offset} is cut short`);
      verifyBlock(buf, ref);
    } catch (e) {
      throw await this.corruptFile(part.file, (e as Error).message, checkpointId);
    }
    return buf;
  }

  /** One key group of one component, merged over the parts (oldest first). */
  private async mergeGroup(
    parts: readonly Part[],
    component: string,
    keyGroup: number,
    checkpointId: number,
  ): Promise<{ keys: string[]; values: Uint8Array[]; raw?: { block: Buffer; ref: BlockRef } }> {
    const present: Array<{ part: Part; ref: BlockRef }> = [];
    for (const part of parts) {
      const ref = part.index.keyed.get(component)?.get(keyGroup);
      if (ref !== undefined) present.push({ part, ref });
    }
    const keys: string[] = [];
    const values: Uint8Array[] = [];
    let current = present[0]?.part;
    try {
      if (present.length === 1 && present[0]!.part.index.kind === 'base') {
        const { part, ref } = present[0]!;
        const block = await this.readBlock(part, ref, checkpointId);
        readKeyedColumns(block, keys, values);
        return { keys, values, raw: { block, ref } };
      }
      const merged = new Map<string, Uint8Array | null>();
      for (const { part, ref } of present) {
        current = part;
        applyKeyedBlock(await this.readBlock(part, ref, checkpointId), merged);
      }
      for (const [k, v] of merged) {
        if (v !== null) {
          keys.push(k);
          values.push(v);
        }
      }
    } catch (e) {
      // A block that passes its CRC but does not decode (it never should).
      if ((e instanceof FormatError || e instanceof RangeError) && current !== undefined) {
        throw await this.corruptFile(current.file, e.message, checkpointId);
      }
      throw e;
    }
    return { keys, values };
  }

  // ---- reads -----------------------------------------------------------------

  private checkpointOf(id: number): ManifestCheckpoint {
    const ck = this.manifest.checkpoints.find((c) => c.id === id);
    if (ck === undefined) throw noCheckpoint(id, this.manifest.checkpoints.map((c) => c.id), this.location);
    return ck;
  }

  protected async doLatest(options: LatestOptions): Promise<LatestCheckpoint | null> {
    const cks = this.manifest.checkpoints;
    if (cks.length === 0) return null;
    const full = options.skipCorrupt === true;
    const skipped: SkippedCheckpoint[] = [];
    for (let i = cks.length - 1; i >= 0; i--) {
      const ck = cks[i]!;
      const bad = await this.checkChain(ck, full);
      if (bad === null) return { id: ck.id, metadata: ck.metadata, skipped };
      if (!full) throw await this.corruptFile(bad.file, bad.reason, ck.id);
      skipped.push({ id: ck.id, path: this.path(bad.file), message: bad.reason });
    }
    const first = skipped[0]!;
    throw corrupt(first.path, first.message, first.id, []);
  }

  protected async doCheckpoints(): Promise<number[]> {
    return this.manifest.checkpoints.map((c) => c.id);
  }

  protected async *doReadKeyed(checkpointId: number, component: string, from: number, to: number): AsyncGenerator<KeyedBatch> {
    const m = this.manifest;
    const ck = this.checkpointOf(checkpointId);
    this.pin(ck.files);
    let parts: Part[] = [];
    try {
      parts = await this.openParts(ck, m, component);
      const groups = new Set<number>();
      for (const p of parts) {
        for (const kg of p.index.keyed.get(component)?.keys() ?? []) if (kg >= from && kg <= to) groups.add(kg);
      }
      for (const kg of [...groups].sort((a, b) => a - b)) {
        const { keys, values } = await this.mergeGroup(parts, component, kg, checkpointId);
        if (keys.length > 0) yield { keyGroup: kg, keys, values };
      }
    } finally {
      await closeParts(parts);
      this.unpinAndCollect(ck.files);
    }
  }

  protected async doReadOperator(checkpointId: number, component: string): Promise<OperatorEntry[]> {
    const m = this.manifest;
    const ck = this.checkpointOf(checkpointId);
    this.pin(ck.files);
    let parts: Part[] = [];
    try {
      parts = await this.openParts(ck, m, component);
      for (let i = parts.length - 1; i >= 0; i--) {
        const part = parts[i]!;
        const ref = part.index.operator.get(component);
        if (ref === undefined) continue;
        const block = await this.readBlock(part, ref, checkpointId);
        try {
          return decodeOperatorBlock(block);
        } catch (e) {
          throw await this.corruptFile(part.file, (e as Error).message, checkpointId);
        }
      }
      return [];
    } finally {
      await closeParts(parts);
      this.unpinAndCollect(ck.files);
    }
  }

  // ---- writes ----------------------------------------------------------------

  protected async commitDelta(p: PendingCheckpoint, metadata: string): Promise<number[]> {
    const retained = await this.exclusive(async () => {
      const m = this.manifest;
      const last = m.checkpoints[m.checkpoints.length - 1];
      const latest = last === undefined ? null : last.id;
      if (latest !== p.expected) throw fenced(p.checkpointId, p.expected, latest, this.location);
      if (latest !== null && p.checkpointId <= latest) throw oldCheckpoint(p.checkpointId, latest, this.location);
      let baseFiles: readonly string[] = [];
      if (p.base !== null) baseFiles = this.checkpointOf(p.base).files;
      const file = isEmpty(p.delta) ? undefined : await this.writeDelta(p.checkpointId, p.delta);
      const kept = m.checkpoints.filter((c) => p.base !== null && c.id <= p.base);
      kept.push({ id: p.checkpointId, metadata: JSON.parse(metadata) as CheckpointMetadata, files: file === undefined ? [...baseFiles] : [...baseFiles, file] });
      const checkpoints = kept.slice(-this.retain);
      const next = this.nextManifest(m, checkpoints, m.dropped, m.dropSeq);
      await this.writeManifest(next); // the commit point
      this.manifest = next;
      await this.collectGarbage();
      return checkpoints.map((c) => c.id);
    });
    this.maybeCompact();
    return retained;
  }

  protected async abortDelta(): Promise<void> {
    // Nothing is written before commit.
  }

  private async writeDelta(id: number, delta: Delta): Promise<string> {
    const name = `d-${id}-${randomSuffix()}.sqs`;
    const f = await AtomicFile.create(this.stepFn, this.dir, name, this.sync);
    try {
      const b = new FileBuilder(id, 'delta');
      await f.write(b.header());
      for (const component of sortedKeys(delta.keyed)) {
        const groups = delta.keyed.get(component)!;
        for (const kg of sortedKeys(groups)) {
          const g = groups.get(kg)!;
          if (g.size === 0) continue;
          const block = encodeKeyedBlock(g);
          b.keyed(component, kg, block, g.size);
          await f.write(block);
        }
      }
      for (const component of sortedKeys(delta.operator)) {
        const tasks = delta.operator.get(component)!;
        const block = encodeOperatorBlock(tasks);
        b.operator(component, block, tasks.size);
        await f.write(block);
      }
      await f.write(b.end());
      await f.finish();
      return name;
    } catch (e) {
      await f.discard();
      throw e;
    }
  }

  protected async doDropComponent(component: string): Promise<void> {
    await this.exclusive(async () => {
      const m = this.manifest;
      const files = new Set<string>(m.dropped[component] ?? []);
      let added = false;
      for (const file of new Set(m.checkpoints.flatMap((c) => c.files))) {
        if (files.has(file)) continue;
        const idx = await this.indexOf(file);
        // A file that does not parse might hold the component: ignore it for it too.
        if (!idx.ok || idx.index.keyed.has(component) || idx.index.operator.has(component)) {
          files.add(file);
          added = true;
        }
      }
      if (!added) return;
      const next = this.nextManifest(m, m.checkpoints, { ...m.dropped, [component]: [...files] }, m.dropSeq + 1);
      await this.writeManifest(next);
      this.manifest = next;
    });
  }

  // ---- garbage and compaction ------------------------------------------------

  /** Delete our files that no checkpoint needs. Under the lock; never throws. */
  private async collectGarbage(): Promise<void> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch {
      return;
    }
    const referenced = new Set(this.manifest.checkpoints.flatMap((c) => c.files));
    for (const name of names) {
      if (!OUR_FILE.test(name)) continue;
      const final = name.endsWith('.tmp') ? name.slice(0, -4) : name;
      if (referenced.has(name) || this.inProgress.has(final) || this.pins.has(name)) continue;
      await this.removeFile(name);
    }
  }

  private async removeFile(name: string): Promise<void> {
    try {
      await io(this.stepFn, `unlink ${name}`, () => unlink(this.path(name)));
    } catch {
      // left for the next collection
    }
    this.indexes.delete(name);
    this.verified.delete(name);
  }

  private unpinAndCollect(files: readonly string[]): void {
    this.unpin(files);
    const referenced = new Set(this.manifest.checkpoints.flatMap((c) => c.files));
    for (const f of files) {
      if (!this.pins.has(f) && !referenced.has(f) && !this.abandoned) void this.exclusive(() => this.removeFile(f));
    }
  }

  private async compactionDue(ck: ManifestCheckpoint): Promise<boolean> {
    if (ck.files.length < 2) return false;
    if (ck.files.length - 1 >= this.maxDeltas) return true;
    const sizes: number[] = [];
    for (const f of ck.files) {
      const idx = await this.indexOf(f);
      if (!idx.ok) return false; // a corrupt chain is not folded
      sizes.push(idx.index.bytes);
    }
    const deltas = sizes.slice(1).reduce((a, b) => a + b, 0);
    return deltas >= this.deltaRatio * sizes[0]!;
  }

  private maybeCompact(): void {
    if (!this.auto || this.compacting !== undefined || this.closing || this.abandoned) return;
    let again = false;
    this.compacting = this.runCompaction(false)
      .then((folded) => {
        again = folded; // commits may have come meanwhile: look again
      })
      .catch((e: unknown) => {
        if (!this.abandoned) this.onError?.(e);
      })
      .finally(() => {
        this.compacting = undefined;
        if (again) this.maybeCompact();
      });
  }

  protected async doCompact(): Promise<void> {
    while (this.compacting !== undefined) await this.compacting;
    await this.runCompaction(true);
  }

  /**
   * Fold the chain of the oldest kept checkpoint into one base file, and
   * point every checkpoint whose chain starts with it at the base. The
   * merge runs outside the lock (its inputs never change); only the swap of
   * CURRENT takes it.
   */
  private async runCompaction(force: boolean): Promise<boolean> {
    const snap = await this.exclusive(async () => {
      const oldest = this.manifest.checkpoints[0];
      if (oldest === undefined || oldest.files.length < 2) return undefined;
      if (!force && !(await this.compactionDue(oldest))) return undefined;
      this.pin(oldest.files);
      return { ck: oldest, manifest: this.manifest };
    });
    if (snap === undefined) return false;
    const name = `b-${snap.ck.id}-${randomSuffix()}.sqs`;
    this.inProgress.add(name);
    try {
      await this.writeBase(name, snap.ck, snap.manifest);
      const swapped = await this.exclusive(async () => {
        const m = this.manifest;
        if (m.dropSeq !== snap.manifest.dropSeq) return false;
        let any = false;
        const checkpoints = m.checkpoints.map((c) => {
          if (!startsWith(c.files, snap.ck.files)) return c;
          any = true;
          return { ...c, files: [name, ...c.files.slice(snap.ck.files.length)] };
        });
        if (!any) return false;
        const next = this.nextManifest(m, checkpoints, m.dropped, m.dropSeq);
        await this.writeManifest(next);
        this.manifest = next;
        return true;
      });
      if (!swapped) await this.exclusive(() => this.removeFile(name));
    } finally {
      this.inProgress.delete(name);
      this.unpin(snap.ck.files);
    }
    await this.exclusive(() => this.collectGarbage());
    return true;
  }

  private async writeBase(name: string, ck: ManifestCheckpoint, m: Manifest): Promise<void> {
    const parts = await this.openParts(ck, m);
    let f: AtomicFile;
    try {
      f = await AtomicFile.create(this.stepFn, this.dir, name, this.sync);
    } catch (e) {
      await closeParts(parts);
      throw e;
    }
    try {
      const b = new FileBuilder(ck.id, 'base');
      await f.write(b.header());
      const components = new Set<string>();
      for (const p of parts) for (const c of p.index.keyed.keys()) components.add(c);
      for (const component of [...components].sort()) {
        const live = parts.filter((p) => p.index.keyed.has(component) && !this.isDropped(component, p.file, m));
        const groups = new Set<number>();
        for (const p of live) for (const kg of p.index.keyed.get(component)!.keys()) groups.add(kg);
        for (const kg of [...groups].sort((a, b2) => a - b2)) {
          const merged = await this.mergeGroup(live, component, kg, ck.id);
          if (merged.raw !== undefined) {
            b.keyed(component, kg, merged.raw.block, merged.raw.ref.count, merged.raw.ref.crc);
            await f.write(merged.raw.block);
          } else if (merged.keys.length > 0) {
            const block = encodeKeyedColumns(merged.keys, merged.values);
            b.keyed(component, kg, block, merged.keys.length);
            await f.write(block);
          }
        }
      }
      const operators = new Set<string>();
      for (const p of parts) for (const c of p.index.operator.keys()) operators.add(c);
      for (const component of [...operators].sort()) {
        const holder = parts.filter((p) => p.index.operator.has(component) && !this.isDropped(component, p.file, m)).pop();
        if (holder === undefined) continue;
        const ref = holder.index.operator.get(component)!;
        const block = await this.readBlock(holder, ref, ck.id);
        b.operator(component, block, ref.count);
        await f.write(block);
      }
      await f.write(b.end());
      await f.finish();
    } catch (e) {
      await f.discard();
      throw e;
    } finally {
      await closeParts(parts);
    }
  }
}

function isEmpty(delta: Delta): boolean {
  return delta.operator.size === 0 && keyedCount(delta) === 0;
}

async function closeParts(parts: readonly Part[]): Promise<void> {
  await Promise.all(parts.map((p) => p.handle.close().catch(() => undefined)));
}
