import { chmodSync, lstatSync, mkdirSync, statSync, unlinkSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { SquallError } from '../errors/index.ts';
import type { ErrorCode } from '../errors/index.ts';

/**
 * The control channel of a running `squall run`: a Unix domain socket that
 * `squall activate|deactivate|rebalance|kill|status` connect to. One request
 * per connection, as one line of JSON; one reply, as one line of JSON; then
 * the server ends the connection.
 *
 *   → {"v":1,"op":"rebalance","topology":"wc","threads":2,"strategy":"even"}
 *   ← {"ok":true,"result":{...}}
 *   ← {"ok":false,"error":{"code":"E_BAD_STATE","message":"..."}}
 *
 * What a client can get instead of a reply: E_NOT_RUNNING when no run
 * listens at the path (no socket file, or one left by a run that died), and
 * E_NO_REPLY when the request went unanswered for another reason (the
 * connection failed or broke, or what answered is not a squall run): then it
 * may or may not have been carried out.
 */
export const CONTROL_PROTOCOL_VERSION = 1;

export const CONTROL_OPS = ['status', 'activate', 'deactivate', 'rebalance', 'kill'] as const;
export type ControlOp = (typeof CONTROL_OPS)[number];

export interface ControlRequest {
  v?: number;
  op: ControlOp;
  /** When present, the run checks that it is this topology. */
  topology?: string;
  /** rebalance: worker threads (at least 1). */
  threads?: number;
  /** rebalance: a strategy name, 'even' or 'resource-aware'. */
  strategy?: string;
  /** kill: how long to wait for trees in flight, in ms (default the topology's killWaitMs). */
  waitMs?: number;
}

/** An error as it crosses the socket. */
export interface ControlError {
  code: string;
  message: string;
}

export type ControlReply = { ok: true; result: unknown } | { ok: false; error: ControlError };

/** A request line longer than this is refused (a request is a few dozen bytes). */
const MAX_REQUEST_BYTES = 64 * 1024;
/** A connection that sends no complete request within this long is dropped. */
const REQUEST_IDLE_MS = 10_000;
/** Connecting to a Unix socket answers at once or not at all; this is a safety net. */
const CONNECT_TIMEOUT_MS = 5_000;

// ---------------------------------------------------------------------------
// Where the socket lives

/** The directory of default control sockets: $SQUALL_RUN_DIR, else <tmpdir>/squall-<uid>. */
export function runDir(): string {
  const env = process.env['SQUALL_RUN_DIR'];
  if (env !== undefined && env !== '') return resolve(env);
  return join(tmpdir(), `squall-${process.getuid?.() ?? 'user'}`);
}

/** A topology name as a file name: anything but letters, digits, '.', '_' and '-' becomes '_'. */
export function socketFileName(topology: string): string {
  const safe = topology.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, '_');
  return `${safe === '' ? '_' : safe}.sock`;
}

/** The control socket path: `--control` if given (made absolute), else the default for the topology name. */
export function controlPath(topology: string | undefined, explicit: string | undefined): string {
  if (explicit !== undefined) {
    if (explicit.trim() === '') throw new SquallError({ code: 'E_BAD_ARGUMENT', message: '--control needs a path' });
    return checkLength(resolve(explicit));
  }
  if (topology === undefined || topology === '') {
    throw new SquallError({ code: 'E_BAD_ARGUMENT', message: 'name the topology (the name `squall run` printed), or pass --control <path>' });
  }
  return checkLength(join(runDir(), socketFileName(topology)));
}

/** Linux takes 107 bytes in a socket path, macOS and the BSDs 103. */
const MAX_SOCKET_PATH = process.platform === 'linux' ? 107 : 103;

function checkLength(path: string): string {
  const n = Buffer.byteLength(path);
  if (n > MAX_SOCKET_PATH) {
    throw new SquallError({
      code: 'E_BAD_ARGUMENT',
      message: `control socket path ${path} is ${n} bytes, more than the ${MAX_SOCKET_PATH} a Unix socket path may have; pass a shorter --control or set SQUALL_RUN_DIR`,
    });
  }
  return path;
}

/**
 * Make the directory of the default sockets: mode 0700, and, when it is the
 * shared default under tmpdir, refuse one that is a symlink or belongs to
 * someone else (who could otherwise listen in our place).
 */
function ensureRunDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (process.env['SQUALL_RUN_DIR']) return;
  const st = lstatSync(dir);
  const uid = process.getuid?.();
  if (!st.isDirectory() || (uid !== undefined && st.uid !== uid)) {
    throw new SquallError({
      code: 'E_BAD_STATE',
      message: `${dir} is not a directory of this user's; remove it, or set SQUALL_RUN_DIR or pass --control`,
    });
  }
  if ((st.mode & 0o077) !== 0) chmodSync(dir, 0o700);
}

// ---------------------------------------------------------------------------
// The server side

export type ControlHandler = (request: ControlRequest) => Promise<unknown>;

/**
 * Listens on a control socket for the length of one run. It never throws at
 * the run: a malformed request, or a handler that throws, gets an error reply.
 * Handlers may run concurrently: serializing them is the handler's business.
 */
export class ControlServer {
  private readonly sockets = new Set<Socket>();
  private readonly replies = new Set<Promise<void>>();
  private closed = false;
  /** The socket file we made, so we never remove one another run made in its place. */
  private readonly identity: { dev: number; ino: number } | null;
  private readonly onExit = (): void => this.unlinkIfOurs();

  private constructor(
    readonly path: string,
    private readonly server: Server,
    private readonly handler: ControlHandler,
  ) {
    let identity: { dev: number; ino: number } | null = null;
    try {
      const st = statSync(path);
      identity = { dev: st.dev, ino: st.ino };
    } catch {
      // Removed already by someone else: nothing of ours to clean up.
    }
    this.identity = identity;
    // A forced exit (a second Ctrl-C) skips close(): take the socket file along anyway.
    process.on('exit', this.onExit);
  }

  /**
   * Claim `path` and listen. A live server there is E_ALREADY_RUNNING (the
   * topology is running); a stale socket (nothing answers) is removed first.
   */
  static async open(path: string, topology: string, explicit: boolean, handler: ControlHandler): Promise<ControlServer> {
    if (!explicit) ensureRunDir(dirname(path));
    await claim(path, topology);
    // Half-open: a client may end its side right after its request and still get the reply.
    const server = createServer({ allowHalfOpen: true });
    await new Promise<void>((resolveListen, reject) => {
      server.once('error', reject);
      server.listen(path, () => {
        server.off('error', reject);
        resolveListen();
      });
    }).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') throw alreadyRunning(topology, path);
      throw new SquallError({ code: 'E_BAD_ARGUMENT', message: `cannot open the control socket ${path}: ${err.message}` }, { cause: err });
    });
    const control = new ControlServer(path, server, handler);
    server.on('connection', (socket) => control.accept(socket));
    // Errors on the listening socket after it is up must not crash the run.
    server.on('error', () => {});
    return control;
  }

  /**
   * Stop listening, let replies being written finish (up to a moment), drop
   * any connection left, and remove the socket file.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const stopped = new Promise<void>((r) => this.server.close(() => r()));
    await Promise.race([Promise.all(this.replies), sleep(2_000)]);
    for (const s of this.sockets) s.destroy();
    await stopped;
    this.unlinkIfOurs();
    process.off('exit', this.onExit);
  }

  private unlinkIfOurs(): void {
    if (this.identity === null) return;
    try {
      const st = lstatSync(this.path);
      if (st.dev === this.identity.dev && st.ino === this.identity.ino) unlinkSync(this.path);
    } catch {
      // Gone already.
    }
  }

  private accept(socket: Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => {});
    socket.setTimeout(REQUEST_IDLE_MS, () => socket.destroy());
    socket.setEncoding('utf8');
    let buffer = '';
    let got = false;
    const onData = (chunk: string): void => {
      buffer += chunk;
      const nl = buffer.indexOf('\n');
      if (nl < 0 && Buffer.byteLength(buffer) <= MAX_REQUEST_BYTES) return;
      got = true;
      socket.off('data', onData);
      socket.setTimeout(0);
      if (nl < 0) {
        this.reply(socket, Promise.reject(badRequest(`a request is one line of JSON of at most ${MAX_REQUEST_BYTES} bytes`)));
        return;
      }
      this.reply(socket, this.dispatch(buffer.slice(0, nl)));
    };
    socket.on('data', onData);
    // A client that half-closes after its request without the newline still gets an answer.
    socket.on('end', () => {
      if (!got && buffer.trim() !== '') {
        got = true;
        socket.off('data', onData);
        this.reply(socket, this.dispatch(buffer));
      } else if (!got) socket.end();
    });
  }

  private async dispatch(line: string): Promise<unknown> {
    if (this.closed) throw new SquallError({ code: 'E_BAD_STATE', message: 'the run is ending' });
    return this.handler(parseRequest(line));
  }

  private reply(socket: Socket, result: Promise<unknown>): void {
    const done: Promise<void> = result
      .then(
        (value): ControlReply => ({ ok: true, result: value ?? null }),
        (err: unknown): ControlReply => ({ ok: false, error: toControlError(err) }),
      )
      .then(
        (reply) =>
          new Promise<void>((r) => {
            if (socket.destroyed) return r();
            let text: string;
            try {
              text = JSON.stringify(reply) + '\n';
            } catch (err) {
              text = JSON.stringify({ ok: false, error: toControlError(err) } satisfies ControlReply) + '\n';
            }
            socket.end(text, () => r());
          }),
      )
      .finally(() => this.replies.delete(done));
    this.replies.add(done);
  }
}

/** Decide what to do about a socket file already at `path`. */
async function claim(path: string, topology: string): Promise<void> {
  let st;
  try {
    st = lstatSync(path);
  } catch {
    return; // nothing there
  }
  if (!st.isSocket()) {
    throw new SquallError({ code: 'E_BAD_ARGUMENT', message: `${path} exists and is not a socket; pass another --control path` });
  }
  const state = await probe(path);
  if (state === 'live') throw alreadyRunning(topology, path);
  if (typeof state === 'object') {
    throw new SquallError({ code: 'E_BAD_STATE', message: `cannot tell whether a run answers on ${path}: ${state.error}; remove it or pass another --control` });
  }
  if (state === 'stale') {
    try {
      unlinkSync(path);
    } catch {
      // Someone else removed it: fine.
    }
  }
}

/** Whether a server answers at `path`: refused is a stale socket file. */
function probe(path: string): Promise<'live' | 'stale' | 'absent' | { error: string }> {
  return new Promise((r) => {
    const s = createConnection(path);
    const t = setTimeout(() => {
      s.destroy();
      r('live'); // accepted by nobody in time, yet not refused: leave it alone
    }, CONNECT_TIMEOUT_MS);
    s.once('connect', () => {
      clearTimeout(t);
      s.destroy();
      r('live');
    });
    s.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(t);
      r(err.code === 'ENOENT' ? 'absent' : err.code === 'ECONNREFUSED' ? 'stale' : { error: err.message });
    });
  });
}

function alreadyRunning(topology: string, path: string): SquallError {
  return new SquallError({
    code: 'E_ALREADY_RUNNING',
    details: { topology, control: path },
    message: `topology '${topology}' is already running (control socket ${path}); kill it (squall kill ${topology}) or pass --control`,
  });
}

function badRequest(message: string): SquallError {
  return new SquallError({ code: 'E_BAD_ARGUMENT', message: `bad control request: ${message}` });
}

/** Validate one request line. */
export function parseRequest(line: string): ControlRequest {
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch {
    throw badRequest('not JSON');
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw badRequest('expected a JSON object');
  const r = raw as Record<string, unknown>;
  if (r['v'] !== undefined && r['v'] !== CONTROL_PROTOCOL_VERSION) {
    throw badRequest(`protocol version ${JSON.stringify(r['v'])} is not supported; this run speaks ${CONTROL_PROTOCOL_VERSION}`);
  }
  if (typeof r['op'] !== 'string' || !(CONTROL_OPS as readonly string[]).includes(r['op'])) {
    throw badRequest(`op must be one of ${CONTROL_OPS.join(', ')}; got ${JSON.stringify(r['op'])}`);
  }
  const req: ControlRequest = { op: r['op'] as ControlOp };
  if (r['topology'] !== undefined) {
    if (typeof r['topology'] !== 'string') throw badRequest('topology must be a string');
    req.topology = r['topology'];
  }
  if (r['threads'] !== undefined) {
    if (typeof r['threads'] !== 'number') throw badRequest('threads must be a number');
    req.threads = r['threads'];
  }
  if (r['strategy'] !== undefined) {
    if (typeof r['strategy'] !== 'string') throw badRequest('strategy must be a string');
    req.strategy = r['strategy'];
  }
  if (r['waitMs'] !== undefined) {
    if (typeof r['waitMs'] !== 'number' || !Number.isFinite(r['waitMs']) || r['waitMs'] < 0) throw badRequest('waitMs must be a number of ms, at least 0');
    req.waitMs = r['waitMs'];
  }
  return req;
}

export function toControlError(err: unknown): ControlError {
  if (err instanceof SquallError) return { code: err.code, message: err.message };
  if (err instanceof Error) return { code: err.name || 'Error', message: err.message };
  return { code: 'Error', message: String(err) };
}

/** The client's side of an error reply: a SquallError again when the code is one (E_...). */
export function fromControlError(e: ControlError): Error {
  if (/^E_[A-Z_]+$/.test(e.code)) return SquallError.fromData({ code: e.code as ErrorCode, message: e.message });
  const err = new Error(e.message);
  err.name = e.code;
  return err;
}

// ---------------------------------------------------------------------------
// The client side

/**
 * Send one request and wait for its reply, however long the run takes (a
 * kill or a rebalance waits for the trees in flight). Nothing listening is
 * E_NOT_RUNNING naming the path tried; no reply for another reason is
 * E_NO_REPLY; an error reply is thrown as the error it was on the other side.
 */
export function sendRequest(path: string, request: ControlRequest, topology: string | undefined): Promise<unknown> {
  const what = topology === undefined ? 'no topology is running there' : `no topology '${topology}' is running`;
  const details = { control: path, ...(topology === undefined ? {} : { topology }) };
  const notRunning = (message: string): SquallError => new SquallError({ code: 'E_NOT_RUNNING', message, details });
  const noReply = (message: string, cause?: unknown): SquallError =>
    new SquallError({ code: 'E_NO_REPLY', message: `${message}; check with squall status whether the request was carried out`, details }, { cause });
  return new Promise((resolveReply, reject) => {
    const socket = createConnection(path);
    let connected = false;
    let buffer = '';
    let settled = false;
    const settle = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      fn();
    };
    const timer = setTimeout(
      () => settle(() => reject(noReply(`nothing accepted a connection on ${path} within ${CONNECT_TIMEOUT_MS / 1000} s`))),
      CONNECT_TIMEOUT_MS,
    );
    socket.setEncoding('utf8');
    socket.once('connect', () => {
      connected = true;
      clearTimeout(timer);
      socket.write(JSON.stringify({ v: CONTROL_PROTOCOL_VERSION, ...request }) + '\n');
    });
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      const nl = buffer.indexOf('\n');
      if (nl < 0) return;
      const line = buffer.slice(0, nl);
      settle(() => {
        let reply: ControlReply;
        try {
          reply = JSON.parse(line) as ControlReply;
        } catch {
          reject(noReply(`${path} answered with something that is not a squall reply`));
          return;
        }
        if (reply.ok) resolveReply(reply.result);
        else reject(fromControlError(reply.error));
      });
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      settle(() => {
        if (connected) {
          reject(noReply(`lost the connection to ${path}: ${err.message}`, err));
        } else if (err.code === 'ENOENT') {
          reject(notRunning(`${what}: no control socket at ${path} (if the run was started with --control, pass the same --control)`));
        } else if (err.code === 'ECONNREFUSED') {
          reject(notRunning(`${what}: nothing answers on the control socket ${path} (left by a run that ended abruptly)`));
        } else {
          reject(noReply(`cannot connect to ${path}: ${err.message}`, err));
        }
      });
    });
    socket.on('close', () => {
      settle(() => reject(noReply(`the run at ${path} closed the connection without a reply (it may have exited)`)));
    });
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}
