/**
 * A Kafka that cannot be reached at start fails within a few seconds, names
 * the brokers it tried and what to do. No broker is needed (and none is
 * started: this file does not call useKafka).
 */
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { TopologyBuilder, submit } from '../../src/index.ts';
import type { OutputDeclarer, Tuple } from '../../src/index.ts';
import { BasicBolt } from '../../src/index.ts';
import { KafkaSpout, createKafkaClient } from '../../src/kafka/index.ts';
import { isLocalBroker, parseBroker, reachAnyBroker } from '../../src/kafka/client/reach.ts';
import { isSquallError } from '../../src/errors/index.ts';
import { runCli } from '../cli/cli.ts';

/** A port on 127.0.0.1 that nothing listens on: one the system handed out, closed again. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

async function rejection(p: Promise<unknown>): Promise<{ error: unknown; ms: number }> {
  const started = performance.now();
  try {
    await p;
  } catch (error) {
    return { error, ms: performance.now() - started };
  }
  throw new Error('expected a rejection');
}

class Sink extends BasicBolt {
  declareOutputFields(_d: OutputDeclarer): void {}
  execute(_t: Tuple): void {}
}

describe('an unreachable Kafka at start', () => {
  it('fails a KafkaSpout topology with E_KAFKA_UNREACHABLE within 5 s, naming the broker and npm run kafka:up', async () => {
    const broker = `127.0.0.1:${await closedPort()}`;
    const b = new TopologyBuilder('unreachable');
    b.setSpout('in', () => new KafkaSpout({ brokers: [broker], topics: ['sentences'], groupId: 'g' }));
    b.setBolt('sink', () => new Sink()).shuffleGrouping('in');
    const { error, ms } = await rejection(submit(b.build()));
    expect(isSquallError(error) && error.code).toBe('E_KAFKA_UNREACHABLE');
    const message = (error as Error).message;
    expect(message).toContain(`Kafka is not reachable: no broker answered in 3.0 s; tried ${broker} (connection refused, ECONNREFUSED)`);
    expect(message).toContain('npm run kafka:up');
    expect((error as { details?: unknown }).details).toMatchObject({ brokers: [broker] });
    // The check waits 3 s for a broker that may be restarting; kafkajs alone took 10 s.
    expect(ms).toBeGreaterThanOrEqual(2900);
    expect(ms).toBeLessThan(5000);
  });

  it('fails `squall run` of the Kafka word count (spout and bolt) within 5 s with the same code and hint', async () => {
    const broker = `127.0.0.1:${await closedPort()}`;
    const started = performance.now();
    const r = await runCli(['run', 'topologies/kafka-word-count.ts', '--set', `kafka.brokers=${broker}`, '--duration', '30']);
    const ms = performance.now() - started;
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^squall: E_KAFKA_UNREACHABLE: .*Kafka is not reachable: no broker answered in 3\.0 s; tried 127\.0\.0\.1:\d+ \(connection refused, ECONNREFUSED\)\. Start the local development broker with `npm run kafka:up`/);
    expect(r.stderr).not.toContain('replay');
    expect(ms).toBeLessThan(5000 + 1500); // + the process's own start (tsx, imports)
  });

  it('does not suggest the local broker for remote brokers, and names each one tried', async () => {
    const { error, ms } = await rejection(reachAnyBroker(['kafka-1.invalid:9092', 'kafka-2.invalid:9093'], 500));
    expect(isSquallError(error) && error.code).toBe('E_KAFKA_UNREACHABLE');
    const message = (error as Error).message;
    expect(message).toMatch(/tried kafka-1\.invalid:9092 \([^)]+\), kafka-2\.invalid:9093 \([^)]+\)\. Check that the brokers are up/);
    expect(message).not.toContain('kafka:up');
    expect(ms).toBeLessThan(2000);
  });

  it('goes on as soon as any broker answers', async () => {
    const server = createServer((s) => s.destroy());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const open = `127.0.0.1:${(server.address() as { port: number }).port}`;
      await reachAnyBroker([`127.0.0.1:${await closedPort()}`, open], 3000);
    } finally {
      server.close();
    }
  });

  it('reads broker addresses and knows the local ones', () => {
    expect(parseBroker('127.0.0.1:9092')).toEqual({ host: '127.0.0.1', port: 9092 });
    expect(parseBroker('[::1]:9092')).toEqual({ host: '::1', port: 9092 });
    expect(parseBroker('kafka:0')).toBeNull();
    expect(parseBroker('kafka')).toBeNull();
    for (const b of ['127.0.0.1:9092', 'localhost:9092', 'LOCALHOST:1', '[::1]:9092', '127.1.2.3:9']) expect(isLocalBroker(b)).toBe(true);
    for (const b of ['10.0.0.1:9092', 'kafka1.example.com:9093', 'localhost.example.com:9092']) expect(isLocalBroker(b)).toBe(false);
  });

  it('checks brokerWaitMs, and 0 leaves the check out', () => {
    expect(() => createKafkaClient({ brokers: ['127.0.0.1:1'], brokerWaitMs: -1 })).toThrow(expect.objectContaining({ code: 'E_BAD_CONFIG' }));
    expect(() => createKafkaClient({ brokers: ['127.0.0.1:1'], brokerWaitMs: 0 })).not.toThrow();
  });
});
