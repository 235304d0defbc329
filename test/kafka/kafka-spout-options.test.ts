import { describe, expect, it } from 'vitest';
import type { TopologyContext } from '../../src/index.ts';
import { resolveSpoutOptions } from '../../src/kafka/spout/options.ts';
import type { KafkaSpoutOptions } from '../../src/kafka/index.ts';

/** What resolveSpoutOptions reads of a context. */
function context(config: Record<string, unknown> = {}): TopologyContext {
  return { topologyName: 't', runId: 'r1', componentId: 'in', config: { 'kafka.brokers': 'b:9092', 'kafka.topics': 'x', ...config } } as unknown as TopologyContext;
}

const retryOf = (o: KafkaSpoutOptions, config?: Record<string, unknown>) => resolveSpoutOptions(o, context(config)).retry;

describe('KafkaSpout options (no broker)', () => {
  it('retries from 100 ms, doubling, up to 10 s, for ever by default', () => {
    expect(retryOf({})).toEqual({ retryInitialDelayMs: 100, retryMultiplier: 2, retryMaxDelayMs: 10_000, maxRetries: Infinity });
  });

  it('takes the retry options by their names, then the deprecated retry object, then config', () => {
    expect(retryOf({ retryInitialDelayMs: 5, retryMultiplier: 3, retryMaxDelayMs: 50, maxRetries: 1 })).toEqual({
      retryInitialDelayMs: 5,
      retryMultiplier: 3,
      retryMaxDelayMs: 50,
      maxRetries: 1,
    });
    expect(retryOf({ retry: { initialDelayMs: 7, multiplier: 4, maxDelayMs: 70, maxRetries: 2 } })).toEqual({
      retryInitialDelayMs: 7,
      retryMultiplier: 4,
      retryMaxDelayMs: 70,
      maxRetries: 2,
    });
    expect(retryOf({ retryInitialDelayMs: 5, retry: { initialDelayMs: 7, maxRetries: 2 } })).toMatchObject({ retryInitialDelayMs: 5, maxRetries: 2 });
    const config = { 'kafka.retryInitialDelayMs': 9, 'kafka.retryMultiplier': 1.5, 'kafka.retryMaxDelayMs': 90, 'kafka.maxRetries': 3 };
    expect(retryOf({}, config)).toEqual({ retryInitialDelayMs: 9, retryMultiplier: 1.5, retryMaxDelayMs: 90, maxRetries: 3 });
    expect(retryOf({ maxRetries: 0 }, config)).toMatchObject({ maxRetries: 0 });
  });

  it('rejects bad retry options with E_BAD_CONFIG naming the spout and the option', () => {
    expect(() => retryOf({ retryMultiplier: 0.5 })).toThrow(
      expect.objectContaining({ code: 'E_BAD_CONFIG', message: "KafkaSpout 'in': retryMultiplier is 0.5; it must be a number, at least 1" }),
    );
    expect(() => retryOf({ retry: { initialDelayMs: -1 } })).toThrow(expect.objectContaining({ code: 'E_BAD_CONFIG', details: { key: 'retryInitialDelayMs', value: -1 } }));
    expect(() => retryOf({}, { 'kafka.maxRetries': 'lots' })).toThrow(expect.objectContaining({ code: 'E_BAD_CONFIG', details: { key: 'maxRetries', value: 'lots' } }));
  });

  it('fills in the other defaults as before the split', () => {
    const s = resolveSpoutOptions({}, context());
    expect(s).toMatchObject({
      topics: ['x'],
      brokers: ['b:9092'],
      clientId: 'squall-t-in',
      groupId: 'squall-t',
      guarantee: 'at-least-once',
      firstPoll: 'committed-or-earliest',
      commitIntervalMs: 1000,
      maxUncommittedPerPartition: 100_000,
      maxBufferedPerPartition: 5000,
      deadLetterTopic: undefined,
      sessionTimeoutMs: 30_000,
      heartbeatIntervalMs: 3000,
      maxWaitTimeMs: 100,
      marker: 'squall:t:r1',
    });
  });
});
