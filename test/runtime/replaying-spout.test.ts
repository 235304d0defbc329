import { afterEach, describe, expect, it } from 'vitest';
import { ReplayingSpout, SeededRandom, SimulatedClock, submit, TopologyBuilder } from '../../src/index.ts';
import type { Message, OutputDeclarer, ReplayOptions, SpoutOutputCollector, TopologyContext, TopologyRun } from '../../src/index.ts';
import { HoldBolt, settle } from '../helpers.ts';

class Letters extends ReplayingSpout<string> {
  static last: Letters;
  readonly emits: { id: string; at: number }[] = [];
  readonly gaveUpOn: { id: string; failures: number }[] = [];
  readonly ackedIds: string[] = [];
  private queue = ['a', 'b'];

  constructor() {
    super({ retryInitialDelayMs: 100, retryMultiplier: 2, retryMaxDelayMs: 250, maxRetries: 3 });
  }
  declareOutputFields(d: OutputDeclarer) {
    d.declare(['letter']);
  }
  override open(context: TopologyContext, collector: SpoutOutputCollector) {
    super.open(context, collector);
    Letters.last = this;
  }
  protected nextMessage(): Message<string> | undefined {
    const id = this.queue.shift();
    if (id === undefined) return undefined;
    this.emits.push({ id, at: this.context.clock.now() });
    return { id, values: [id] };
  }
  override nextTuple() {
    const before = this.replayed;
    super.nextTuple();
    if (this.replayed > before) this.emits.push({ id: 'replay', at: this.context.clock.now() });
  }
  protected override onAck(id: string) {
    this.ackedIds.push(id);
  }
  protected override onGiveUp(m: Message<string>, failures: number) {
    this.gaveUpOn.push({ id: m.id, failures });
  }
}

let run: TopologyRun | undefined;
afterEach(async () => {
  if (run && run.status !== 'killed') await run.kill({ waitMs: 0 });
});

describe('ReplayingSpout', () => {
  it('replays a failed message with exponential backoff, forgets it on ack, and gives up after maxRetries', async () => {
    HoldBolt.instances = [];
    const clock = new SimulatedClock();
    const b = new TopologyBuilder('replay');
    b.setSpout('letters', () => new Letters());
    b.setBolt('hold', () => new HoldBolt()).shuffleGrouping('letters');
    run = await submit(b.build(), { clock, random: new SeededRandom(9), stepping: 'manual' });
    const [hold] = HoldBolt.instances;
    const spout = () => Letters.last;
    settle(run!, () => hold!.held.length === 2, 'both emitted');
    // 'a' is acked, 'b' keeps failing.
    hold!.collector.ack(hold!.held.shift()!);
    const failB = async (expectedReplays: number) => {
      hold!.failAll();
      // Seen: waiting for its backoff, or (the fourth failure, past maxRetries 3) given up.
      settle(run!, () => hold!.held.length === 0 && spout().unsettled + spout().gaveUpOn.length === 1, 'fail seen');
      expect(spout().unsettled).toBe(expectedReplays < 3 ? 1 : 0);
      expect(spout().replayed).toBe(expectedReplays);
    };
    await failB(0);
    const waits: number[] = [];
    for (const backoff of [100, 200, 250]) {
      clock.advance(backoff - 1);
      settle(run!);
      expect(hold!.held.length).toBe(0); // not yet due
      clock.advance(1);
      settle(run!, () => hold!.held.length === 1, `replay after ${backoff} ms`);
      waits.push(backoff);
      await failB(waits.length);
    }
    expect(spout().ackedIds).toEqual(['a']);
    expect(spout().gaveUpOn).toEqual([{ id: 'b', failures: 4 }]);
    expect(spout().unsettled).toBe(0);
    expect(spout().isDone()).toBe(false); // an unbounded source is never done
  });

  it('reads the deprecated option names (initialBackoffMs, multiplier, maxBackoffMs); the new names win', () => {
    const policy = (s: ReplayingSpout) => (s as unknown as { policy: unknown }).policy;
    expect(policy(new Options({ initialBackoffMs: 30, multiplier: 3, maxBackoffMs: 500, maxRetries: 4 }))).toEqual({
      retryInitialDelayMs: 30,
      retryMultiplier: 3,
      retryMaxDelayMs: 500,
      maxRetries: 4,
    });
    expect(policy(new Options({ initialBackoffMs: 30, retryInitialDelayMs: 40, maxBackoffMs: 500, retryMaxDelayMs: 600 }))).toMatchObject({
      retryInitialDelayMs: 40,
      retryMaxDelayMs: 600,
    });
  });

  it('rejects bad replay options with E_BAD_CONFIG naming the option and the spout', () => {
    expect(() => new Options({ retryMultiplier: 0.5 })).toThrow(
      expect.objectContaining({ code: 'E_BAD_CONFIG', message: 'ReplayingSpout Options: retryMultiplier is 0.5; it must be a number, at least 1' }),
    );
    expect(() => new Options({ initialBackoffMs: -1 })).toThrow(expect.objectContaining({ code: 'E_BAD_CONFIG', details: { key: 'retryInitialDelayMs', value: -1 } }));
    expect(() => new Options({ maxRetries: Number.NaN })).toThrow(expect.objectContaining({ code: 'E_BAD_CONFIG' }));
    const ok = new Options({});
    expect(() => ok.set({ retryMaxDelayMs: -5 })).toThrow(expect.objectContaining({ code: 'E_BAD_CONFIG', details: { key: 'retryMaxDelayMs', value: -5 } }));
  });
});

class Options extends ReplayingSpout<number> {
  constructor(options: ReplayOptions) {
    super(options);
  }
  declareOutputFields(d: OutputDeclarer) {
    d.declare(['n']);
  }
  protected nextMessage(): Message<number> | undefined {
    return undefined;
  }
  set(options: ReplayOptions) {
    this.setReplayOptions(options);
  }
}
