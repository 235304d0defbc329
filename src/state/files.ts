/**
 * File steps of the embedded store, each behind the fault hook: a file
 * written atomically (temporary name, writes, fsync, close, rename, fsync of
 * the directory), unlinks, and the lock file.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { open, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { SquallError } from '../errors/index.ts';

export type Step = (name: string) => void;

/** Run one I/O step between the hook's 'before' and 'after' calls. */
export async function io<T>(step: Step, name: string, fn: () => Promise<T>): Promise<T> {
  step(name);
  const r = await fn();
  step(`${name} done`);
  return r;
}

/** fsync a directory, so a rename or a new name in it is durable. */
export async function fsyncDir(step: Step, dir: string, sync: boolean): Promise<void> {
  if (!sync) return;
  await io(step, 'fsync-dir', () => syncDirectory(dir));
}

/** Where directories cannot be opened or synced (Windows), renames are durable without it: skip. */
const NO_DIR_SYNC = new Set(['EISDIR', 'EPERM', 'EINVAL', 'EBADF', 'ENOTSUP']);

export async function syncDirectory(dir: string): Promise<void> {
  let h: FileHandle;
  try {
    h = await open(dir, 'r');
  } catch (e) {
    if (NO_DIR_SYNC.has((e as NodeJS.ErrnoException).code ?? '')) return;
    throw e;
  }
  try {
    await h.sync();
  } catch (e) {
    if (!NO_DIR_SYNC.has((e as NodeJS.ErrnoException).code ?? '')) throw e;
  } finally {
    await h.close();
  }
}

const FLUSH_BYTES = 4 << 20;

/**
 * A file written under a temporary name and renamed into place: until
 * finish() returns, the final name does not exist; after it, the file is
 * whole and durable (with sync on).
 */
export class AtomicFile {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private position = 0;
  private done = false;

  private constructor(
    private readonly step: Step,
    private readonly dir: string,
    readonly name: string,
    private readonly handle: FileHandle,
    private readonly sync: boolean,
  ) {}

  static async create(step: Step, dir: string, name: string, sync: boolean): Promise<AtomicFile> {
    const tmp = join(dir, `${name}.tmp`);
    step(`open ${name}.tmp`);
    const handle = await open(tmp, 'w');
    try {
      step(`open ${name}.tmp done`);
    } catch (e) {
      await handle.close();
      throw e;
    }
    return new AtomicFile(step, dir, name, handle, sync);
  }

  /** Queue bytes; they are written in chunks of a few MiB. */
  async write(buf: Uint8Array): Promise<void> {
    this.pending.push(buf instanceof Buffer ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.length));
    this.pendingBytes += buf.length;
    if (this.pendingBytes >= FLUSH_BYTES) await this.flush();
  }

  private async flush(): Promise<void> {
    if (this.pendingBytes === 0) return;
    const chunk = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    await io(this.step, `write ${this.name}.tmp`, async () => {
      let off = 0;
      while (off < chunk.length) {
        const { bytesWritten } = await this.handle.write(chunk, off, chunk.length - off, this.position + off);
        off += bytesWritten;
      }
    });
    this.position += chunk.length;
  }

  /** Write what is queued, fsync, close, rename into place, fsync the directory. */
  async finish(): Promise<void> {
    try {
      await this.flush();
      if (this.sync) await io(this.step, `fsync ${this.name}.tmp`, () => this.handle.sync());
    } catch (e) {
      this.done = true;
      await this.handle.close().catch(() => undefined);
      throw e;
    }
    this.done = true;
    await this.handle.close();
    await io(this.step, `rename ${this.name}`, () => rename(join(this.dir, `${this.name}.tmp`), join(this.dir, this.name)));
    await fsyncDir(this.step, this.dir, this.sync);
  }

  /**
   * Give up: close and remove the temporary file, best effort. The removal
   * is a step too: after a crash nothing is cleaned up (the next open does).
   */
  async discard(): Promise<void> {
    if (!this.done) {
      this.done = true;
      await this.handle.close().catch(() => undefined);
    }
    await io(this.step, `unlink ${this.name}.tmp`, () => unlink(join(this.dir, `${this.name}.tmp`))).catch(() => undefined);
  }
}

/** A short random suffix for file names that must not collide. */
export function randomSuffix(): string {
  return randomBytes(4).toString('hex');
}

// ---- the lock: one store instance per state directory --------------------

interface LockData {
  pid: number;
  host: string;
  token: string;
}

/** State directories held by an open store of this process, with their lock token. */
const held = new Map<string, string>();

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function lockedError(dir: string, holder: string): SquallError {
  return new SquallError({
    code: 'E_STATE_LOCKED',
    message: `the state directory ${dir} is in use by ${holder}: two runs of one topology cannot share a state directory. Stop the other run, or give this one its own --state-dir`,
    details: { dir, holder },
  });
}

/**
 * Take the lock of `dir`: a LOCK file naming this process. A lock whose
 * process is gone (kill -9) is taken over; one held by a live process, or by
 * another open store in this process, is E_STATE_LOCKED.
 */
export async function acquireLock(dir: string): Promise<string> {
  if (held.has(dir)) throw lockedError(dir, 'another open store in this process');
  const path = join(dir, 'LOCK');
  const token = randomSuffix();
  const mine: LockData = { pid: process.pid, host: hostname(), token };
  const text = JSON.stringify(mine);
  try {
    await writeFile(path, text, { flag: 'wx' });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    let other: LockData | undefined;
    try {
      other = JSON.parse(await readFile(path, 'utf8')) as LockData;
    } catch {
      other = undefined; // unreadable: left half-written by a crash
    }
    if (other !== undefined && other.host !== mine.host) throw lockedError(dir, `process ${other.pid} on ${other.host}`);
    if (other !== undefined && other.pid !== process.pid && alive(other.pid)) throw lockedError(dir, `process ${other.pid}`);
    // Stale: its process is gone (or it is this process's, from a store that was abandoned).
    const tmp = join(dir, `LOCK.${token}.tmp`);
    await writeFile(tmp, text);
    await rename(tmp, path);
  }
  held.set(dir, token);
  return token;
}

/** Forget the lock in this process without removing the file (a crash leaves it). */
export function forgetLock(dir: string, token: string): void {
  if (held.get(dir) === token) held.delete(dir);
}

export async function releaseLock(dir: string, token: string): Promise<void> {
  if (held.get(dir) !== token) return;
  held.delete(dir);
  const path = join(dir, 'LOCK');
  try {
    const data = JSON.parse(await readFile(path, 'utf8')) as LockData;
    if (data.token === token) await unlink(path);
  } catch {
    // gone or not ours: nothing to release
  }
}
