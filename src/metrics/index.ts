/**
 * Prometheus metrics of a topology run (docs/metrics.md): one snapshot per
 * scrape, through prom-client, served over node:http by serveMetrics().
 */
export { cumulativeBuckets, EXECUTE_BOUNDS_S, LATENCY_BOUNDS_S, PrometheusMetrics, traceExemplar, wantsOpenMetrics } from './prometheus.ts';
export type { PrometheusMetricsOptions } from './prometheus.ts';
export { DEFAULT_METRICS_PORT, listenOn, parseMetricsPort, serveMetrics } from './serve.ts';
export type { MetricsServer, ServeMetricsOptions } from './serve.ts';
