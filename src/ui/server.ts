import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isSquallError, SquallError } from '../errors/index.ts';
import type { ErrorCode } from '../errors/index.ts';
import { listenOn, PrometheusMetrics, wantsOpenMetrics } from '../metrics/index.ts';
import type { TopologyRun } from '../runtime/index.ts';
import { strategyByName } from '../scheduler/index.ts';
import { pageHtml, PAGE_CSS, PAGE_JS } from './assets.ts';
import { UiView } from './view.ts';
import type { Sample, UiState } from './view.ts';

/** The port `--ui` uses when given no value. */
export const DEFAULT_UI_PORT = 9470;

/** The controls of the page. */
export type UiControlOp = 'activate' | 'deactivate' | 'rebalance' | 'kill';

export interface UiControlRequest {
  op: UiControlOp;
  /** rebalance: worker threads to move to (1 to 256). */
  threads?: number;
  /** rebalance: 'even' or 'resource-aware'. */
  strategy?: string;
}

/**
 * Carries out a control of the page; resolves once it is done (a kill: once
 * it has begun). `squall run` passes its control socket's handler, so the page
 * and `squall activate` ... act the same way; the default acts on the run.
 */
export type UiControl = (request: UiControlRequest) => Promise<unknown>;

export interface ServeUiOptions {
  /** 0 picks a free port (default DEFAULT_UI_PORT). */
  port?: number;
  /** Default 127.0.0.1. Anything else can be reached from other machines. */
  host?: string;
  /** No controls: the page shows none and every control request is refused with E_UI_READ_ONLY. */
  readOnly?: boolean;
  /** How the controls act (default: on the run directly). */
  control?: UiControl;
  /** How often the page gets a sample, in ms (default 1000). */
  intervalMs?: number;
  /** Samples the charts keep (default 300: five minutes at one a second). */
  historySize?: number;
  /** Process metrics of this thread in the UI port's /metrics (default true). */
  processMetrics?: boolean;
}

export interface UiServer {
  /** http://host:port/ */
  readonly url: string;
  readonly port: number;
  readonly host: string;
  readonly readOnly: boolean;
  /** The token control requests must carry in the `x-squall-token` header (the page has it). */
  readonly token: string;
  /** The latest sample and the page state made from it. */
  latest(): { sample: Sample; state: UiState };
  close(): Promise<void>;
}

/** Connections to /events at once; more get E_UI_BUSY. */
const MAX_CLIENTS = 32;
/** Largest control request body. */
const MAX_BODY = 4096;
const OPS: readonly UiControlOp[] = ['activate', 'deactivate', 'rebalance', 'kill'];
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

/** A port as the CLI or a caller gives it: a whole number 0 to 65535 (0: any free port). */
export function parseUiPort(value: string | number | boolean | undefined): number {
  if (value === undefined || value === true) return DEFAULT_UI_PORT;
  const text = String(value);
  const port = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new SquallError({ code: 'E_BAD_ARGUMENT', message: `--ui takes a port, a whole number from 0 (any free port) to 65535; got '${text}'` });
  }
  return port;
}

/** Whether a host to bind is this machine's loopback only. */
export function isLoopback(host: string): boolean {
  return LOOPBACK.has(host) || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/**
 * Serve the live web view of a run (docs/ui.md) over node:http, on
 * 127.0.0.1 unless `host` says otherwise: the page, its script and style,
 * its server-sent events (one sample a second), `/api/state`, the controls
 * (POST /api/<op> with the run's token) and `/metrics` in the Prometheus text
 * format, made from the same sample as the page. Resolves once listening,
 * with the first sample taken; close() stops it.
 */
export async function serveUi(run: TopologyRun, options: ServeUiOptions = {}): Promise<UiServer> {
  const port = parseUiPort(options.port);
  const host = options.host ?? '127.0.0.1';
  const readOnly = options.readOnly === true;
  const intervalMs = options.intervalMs ?? 1000;
  if (!Number.isInteger(intervalMs) || intervalMs < 50) {
    throw new SquallError({ code: 'E_BAD_ARGUMENT', message: `serveUi: intervalMs must be a whole number of ms, at least 50; got ${String(intervalMs)}` });
  }
  const token = randomBytes(24).toString('base64url');
  const control = options.control ?? directControl(run);
  const view = new UiView(run, readOnly, options.historySize ?? 300, intervalMs);
  const prometheus = new PrometheusMetrics(run, options.processMetrics === false ? { processMetrics: false } : {});
  let openMetrics: PrometheusMetrics | null = null;
  const clients = new Set<ServerResponse>();
  const checkHost = isLoopback(host);

  let seq = 0;
  let latest: { sample: Sample; state: UiState } | null = null;
  let sampling: Promise<void> | null = null;
  const takeSample = (): Promise<void> =>
    (sampling ??= (async () => {
      try {
        // A run that ended keeps its last figures; only a running one has hosts to ask.
        if (run.status === 'active' || run.status === 'inactive') await run.refresh().catch(() => {});
        const metrics = run.metrics();
        const sample: Sample = { seq: ++seq, time: Date.now(), status: run.status, metrics, hosts: run.hosts() };
        latest = { sample, state: view.update(sample) };
        const event = sse('state', latest.state);
        for (const res of clients) res.write(event);
      } finally {
        sampling = null;
      }
    })());
  await takeSample();
  const timer = setInterval(() => void takeSample().catch(() => {}), intervalMs);
  timer.unref();

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) sendError(res, err);
      else res.end();
    });
  });

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    res.setHeader('x-content-type-options', 'nosniff');
    res.setHeader('referrer-policy', 'no-referrer');
    res.setHeader('x-frame-options', 'DENY');
    res.setHeader('cache-control', 'no-store');
    // Bound to loopback, only loopback names are served: a page elsewhere that rebinds its name to 127.0.0.1 gets nothing.
    if (checkHost && !LOOPBACK.has(hostnameOf(req.headers.host))) {
      throw new SquallError({
        code: 'E_UI_FORBIDDEN_ORIGIN',
        message: `the web view answers only to 127.0.0.1, localhost or [::1], not '${req.headers.host ?? ''}'`,
      });
    }
    const path = (req.url ?? '/').split('?')[0]!;
    if (req.method === 'POST' && path.startsWith('/api/')) {
      const result = await controlRequest(req, path.slice('/api/'.length));
      // A sample begun after the control, so its effect is in the page (and /api/state) by the time this answers.
      await sampling?.catch(() => {});
      await takeSample().catch(() => {});
      sendJson(res, 200, { ok: true, result });
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' }).end('method not allowed\n');
      return;
    }
    const current = latest!;
    switch (path) {
      case '/':
      case '/index.html':
        res.writeHead(200, {
          'content-type': 'text/html; charset=utf-8',
          'content-security-policy':
            "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
        });
        res.end(req.method === 'HEAD' ? undefined : pageHtml({ topology: run.topology.name, token: readOnly ? '' : token, readOnly }));
        return;
      case '/app.js':
        res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' }).end(req.method === 'HEAD' ? undefined : PAGE_JS);
        return;
      case '/app.css':
        res.writeHead(200, { 'content-type': 'text/css; charset=utf-8' }).end(req.method === 'HEAD' ? undefined : PAGE_CSS);
        return;
      case '/favicon.ico':
        res.writeHead(204).end();
        return;
      case '/api/state':
        sendJson(res, 200, { layout: view.layout, points: view.points(), state: current.state });
        return;
      case '/metrics': {
        // The sample the page has now, not a new one: the two agree (x-squall-sample names it).
        const p = wantsOpenMetrics(req.headers.accept)
          ? (openMetrics ??= new PrometheusMetrics(run, { ...(options.processMetrics === false ? { processMetrics: false } : {}), openMetrics: true }))
          : prometheus;
        const text = await p.expose(current.sample.metrics, current.sample.hosts);
        res.writeHead(200, { 'content-type': p.contentType, 'x-squall-sample': String(current.sample.seq) });
        res.end(req.method === 'HEAD' ? undefined : text);
        return;
      }
      case '/events': {
        if (clients.size >= MAX_CLIENTS) {
          throw new SquallError({ code: 'E_UI_BUSY', message: `the web view serves at most ${MAX_CLIENTS} pages at once; close one` });
        }
        res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', connection: 'keep-alive' });
        res.write('retry: 2000\n\n');
        res.write(sse('layout', view.layout));
        res.write(sse('points', view.points()));
        res.write(sse('state', current.state));
        clients.add(res);
        req.on('close', () => clients.delete(res));
        return;
      }
      default:
        sendJson(res, 404, { ok: false, error: { code: 'E_UI_NOT_FOUND', message: `nothing at ${path}: the web view serves /, /events, /api/state, /metrics and POST /api/<control>` } });
    }
  };

  const controlRequest = async (req: IncomingMessage, op: string): Promise<unknown> => {
    const body = await readBody(req);
    if (readOnly) {
      throw new SquallError({ code: 'E_UI_READ_ONLY', message: 'the web view is read-only (--ui-read-only): controls are turned off; use squall activate, deactivate, rebalance or kill' });
    }
    const origin = req.headers['origin'];
    if (origin !== undefined && origin !== `http://${req.headers.host ?? ''}`) {
      throw new SquallError({ code: 'E_UI_FORBIDDEN_ORIGIN', message: `a control request from another origin (${origin}) is refused` });
    }
    const given = req.headers['x-squall-token'];
    if (typeof given !== 'string' || !sameToken(given, token)) {
      throw new SquallError({
        code: 'E_UI_TOKEN',
        message: `${given === undefined ? 'no' : 'a wrong'} x-squall-token header: control requests need this run's token, which its page carries; reload the page`,
      });
    }
    if (!(OPS as readonly string[]).includes(op)) {
      throw new SquallError({ code: 'E_UI_NOT_FOUND', message: `no control '${op}': the controls are ${OPS.join(', ')}` });
    }
    const request: UiControlRequest = { op: op as UiControlOp };
    if (op === 'rebalance') {
      const threads = body['threads'];
      const strategy = body['strategy'];
      if (threads !== undefined && threads !== null && threads !== '') {
        const n = typeof threads === 'number' ? threads : Number(threads);
        if (!Number.isInteger(n) || n < 1 || n > 256) {
          throw new SquallError({ code: 'E_BAD_ARGUMENT', message: `rebalance: threads must be a whole number from 1 to 256, got '${String(threads)}'` });
        }
        request.threads = n;
      }
      if (strategy !== undefined && strategy !== null && strategy !== '') {
        if (typeof strategy !== 'string') throw new SquallError({ code: 'E_BAD_ARGUMENT', message: 'rebalance: strategy must be a name: even or resource-aware' });
        request.strategy = strategy;
      }
    }
    return control(request);
  };

  let bound: number;
  let shown: string;
  try {
    ({ port: bound, shown } = await listenOn(server, host, port, 'the web view'));
  } catch (err) {
    clearInterval(timer);
    throw err;
  }
  let closed: Promise<void> | null = null;
  return {
    url: `http://${shown}:${bound}/`,
    port: bound,
    host,
    readOnly,
    token,
    latest: () => latest!,
    close() {
      closed ??= (async () => {
        clearInterval(timer);
        await sampling?.catch(() => {});
        // One last sample (a run that was killed: its final figures, the summary's), then tell the pages the run is over.
        await takeSample().catch(() => {});
        {
          const end = sse('end', { status: run.status });
          for (const res of clients) res.end(end);
        }
        clients.clear();
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
      })();
      return closed;
    },
  };
}

/** The controls acting on the run itself (serveUi from code). */
function directControl(run: TopologyRun): UiControl {
  return async (request) => {
    switch (request.op) {
      case 'activate':
        run.activate();
        break;
      case 'deactivate':
        run.deactivate();
        break;
      case 'rebalance':
        await run.rebalance({
          ...(request.threads === undefined ? {} : { threads: request.threads }),
          ...(request.strategy === undefined ? {} : { strategy: strategyByName(request.strategy) }),
        });
        break;
      case 'kill':
        // Answered once begun; the page sees the drain and the end in its samples.
        if (run.status === 'killing' || run.status === 'killed') break;
        void run.kill().catch(() => {});
        break;
    }
    return { status: run.status };
  };
}

function sse(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

function hostnameOf(header: string | undefined): string {
  if (header === undefined) return '';
  if (header.startsWith('[')) return header.slice(0, header.indexOf(']') + 1);
  const colon = header.indexOf(':');
  return (colon < 0 ? header : header.slice(0, colon)).toLowerCase();
}

function sameToken(given: string, token: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

async function readBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY) throw new SquallError({ code: 'E_BAD_ARGUMENT', message: `a control request body is at most ${MAX_BODY} bytes` });
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (text === '') return {};
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new SquallError({ code: 'E_BAD_ARGUMENT', message: 'a control request body must be a JSON object' });
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new SquallError({ code: 'E_BAD_ARGUMENT', message: 'a control request body must be a JSON object' });
  }
  return body as Record<string, unknown>;
}

const STATUS: Partial<Record<ErrorCode, number>> = {
  E_UI_TOKEN: 403,
  E_UI_READ_ONLY: 403,
  E_UI_FORBIDDEN_ORIGIN: 403,
  E_UI_NOT_FOUND: 404,
  E_BAD_ARGUMENT: 400,
  E_BAD_STATE: 409,
  E_STARTING: 503,
  E_UI_BUSY: 503,
};

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify(body));
}

/** `{ ok: false, error: { code, message } }`, as the control socket answers, with an HTTP status fit for the code. */
function sendError(res: ServerResponse, err: unknown): void {
  if (isSquallError(err)) {
    sendJson(res, STATUS[err.code] ?? 500, { ok: false, error: { code: err.code, message: err.message } });
  } else {
    sendJson(res, 500, { ok: false, error: { code: 'E_INVARIANT', message: err instanceof Error ? err.message : String(err) } });
  }
}
