import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { SquallError } from '../errors/index.ts';
import type { TopologyRun } from '../runtime/index.ts';
import { PrometheusMetrics, wantsOpenMetrics } from './prometheus.ts';
import type { PrometheusMetricsOptions } from './prometheus.ts';

/** The port `--metrics` uses when given no value (the OpenTelemetry Prometheus exporter's). */
export const DEFAULT_METRICS_PORT = 9464;

export interface ServeMetricsOptions extends PrometheusMetricsOptions {
  /** 0 picks a free port (default DEFAULT_METRICS_PORT). */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
}

export interface MetricsServer {
  /** http://host:port/metrics */
  readonly url: string;
  readonly port: number;
  readonly metrics: PrometheusMetrics;
  close(): Promise<void>;
}

/** A port as the CLI or a caller gives it: a whole number 0 to 65535 (0: any free port). */
export function parseMetricsPort(value: string | number | boolean | undefined): number {
  if (value === undefined || value === true) return DEFAULT_METRICS_PORT;
  const text = String(value);
  const port = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new SquallError({ code: 'E_BAD_ARGUMENT', message: `--metrics takes a port, a whole number from 0 (any free port) to 65535; got '${text}'` });
  }
  return port;
}

/**
 * Serve `GET /metrics` (the Prometheus text format, version 0.0.4, or
 * OpenMetrics with exemplars when the request's Accept asks for it) of a
 * run over node:http, on 127.0.0.1 unless `host` says otherwise. Resolves
 * once listening; close() stops it.
 */
export async function serveMetrics(run: TopologyRun, options: ServeMetricsOptions = {}): Promise<MetricsServer> {
  const port = parseMetricsPort(options.port);
  const host = options.host ?? '127.0.0.1';
  const metrics = new PrometheusMetrics(run, options);
  // A scraper that asks for OpenMetrics (Accept: application/openmetrics-text) gets it, with exemplars.
  let openMetrics: PrometheusMetrics | null = null;
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found: squall serves /metrics\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' }).end('method not allowed\n');
      return;
    }
    const m = wantsOpenMetrics(req.headers.accept) ? (openMetrics ??= new PrometheusMetrics(run, { ...options, openMetrics: true })) : metrics;
    m.scrape().then(
      (text) => {
        res.writeHead(200, { 'content-type': m.contentType });
        res.end(req.method === 'HEAD' ? undefined : text);
      },
      (err: unknown) => {
        res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end(`squall: metrics failed: ${err instanceof Error ? err.message : String(err)}\n`);
      },
    );
  });
  const { port: bound, shown } = await listenOn(server, host, port, 'metrics');
  let closed: Promise<void> | null = null;
  return {
    url: `http://${shown}:${bound}/metrics`,
    port: bound,
    metrics,
    close() {
      closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closed;
    },
  };
}

/**
 * Listen on host:port; resolves with the port bound (for port 0) and the
 * host as it goes in a URL (IPv6 in brackets). A port that cannot be had is
 * E_BAD_ARGUMENT saying so, for `what` is served there.
 */
export function listenOn(server: Server, host: string, port: number, what: string): Promise<{ port: number; shown: string }> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      reject(
        new SquallError({
          code: 'E_BAD_ARGUMENT',
          message: `cannot serve ${what} on ${host}:${port}: ${err.code === 'EADDRINUSE' ? 'the port is in use; pick another, or 0 for any free port' : err.message}`,
        }),
      );
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve({ port: (server.address() as AddressInfo).port, shown: host.includes(':') ? `[${host}]` : host });
    });
  });
}
