/**
 * The per-partition event-time tracker of KafkaSpout (src/kafka/spout/event-time.ts)
 * on a SimulatedClock: no broker, no real time.
 */
import { describe, expect, it } from 'vitest';
import { EventTimeTracker, resolveEventTime } from '../../src/kafka/spout/event-time.ts';
import type { PartitionTime } from '../../src/kafka/spout/event-time.ts';
import { SimulatedClock } from '../../src/index.ts';

/** A partition's backlog, set by the test. */
class Backlog {
  backlogged = false;
}

function tracker(o: { maxOutOfOrdernessMs?: number; idleTimeoutMs?: number; intervalMs?: number; restoreHoldMs?: number } = {}) {
  const clock = new SimulatedClock(1000);
  const t = new EventTimeTracker(resolveEventTime(o, 'test')!, clock);
  const sent: [number, boolean][] = [];
  /** Move the clock by ms and tick once, as the spout's timer does; what was sent, if anything. */
  const step = (ms = 0): void => {
    clock.advance(ms);
    if (t.tick()) sent.push([t.watermark, t.idle]);
  };
  return { clock, t, sent, step };
}

describe('KafkaSpout event time per partition', () => {
  it('the task watermark is the least over partitions of the largest event time less the out-of-orderness, and never goes backwards', () => {
    const { t, sent, step } = tracker({ maxOutOfOrdernessMs: 10 });
    const a = t.add('x', 0, new Backlog());
    const b = t.add('x', 1, new Backlog());
    t.assigned();
    step();
    expect(sent).toEqual([]); // neither has a record: both hold
    t.observe(a, 100);
    t.observe(a, 95); // out of order, within the bound
    step();
    expect(sent).toEqual([]); // b still holds
    t.observe(b, 60);
    step();
    expect(sent).toEqual([[50, false]]);
    t.observe(b, 200);
    step();
    expect(sent.at(-1)).toEqual([90, false]); // a is the least now: 100 - 10
    expect(t.watermarkOf(a)).toBe(90);
    expect(t.watermarkOf(b)).toBe(190);
    t.remove('x', 0);
    step();
    expect(sent.at(-1)).toEqual([190, false]);
    // A partition added with no watermark holds the task's where it is, never back to its own.
    const c = t.add('x', 2, new Backlog());
    step();
    expect(sent.length).toBe(3);
    t.observe(c, 100); // behind what was sent: late downstream, counted; the watermark stays
    step();
    expect(sent.length).toBe(3);
    expect(t.watermark).toBe(190);
    expect(t.late).toBe(1);
  });

  it('a partition quiet for idleTimeoutMs stops holding the watermark; a record makes it active again; one with records waiting is never idle', () => {
    const { t, sent, step } = tracker({ idleTimeoutMs: 100 });
    const quietBacklog = new Backlog();
    const a = t.add('x', 0, new Backlog());
    const quiet = t.add('x', 1, quietBacklog);
    t.assigned();
    t.observe(a, 500);
    t.observe(quiet, 300);
    step();
    expect(sent).toEqual([[300, false]]);
    // quiet has records fetched and not emitted (or is paused): as long as that lasts it holds.
    quietBacklog.backlogged = true;
    for (let i = 0; i < 10; i++) {
      t.observe(a, 500 + i);
      step(50);
    }
    expect(sent).toEqual([[300, false]]);
    expect(quiet.idle).toBe(false);
    quietBacklog.backlogged = false;
    step(50);
    expect(quiet.idle).toBe(false);
    t.observe(a, 600);
    step(50);
    // 100 ms with nothing emitted or waiting: idle, and a alone decides.
    expect(quiet.idle).toBe(true);
    expect(sent.at(-1)).toEqual([600, false]);
    // A record on quiet makes it active again; it cannot pull the watermark back.
    t.observe(quiet, 400);
    step(10);
    expect(quiet.idle).toBe(false);
    expect(sent.at(-1)).toEqual([600, false]);
    t.observe(quiet, 700);
    t.observe(a, 800);
    step(10);
    expect(sent.at(-1)).toEqual([700, false]);
    expect(t.late).toBe(1); // the 400
  });

  it('a new partition with no record holds until it is idle, counted from its assignment', () => {
    const { t, sent, step } = tracker({ idleTimeoutMs: 100 });
    const a = t.add('x', 0, new Backlog());
    t.assigned();
    t.observe(a, 1000);
    step();
    expect(sent).toEqual([[1000, false]]);
    step(60);
    const added = t.add('x', 1, new Backlog());
    t.observe(a, 2000);
    step(60);
    expect(sent).toEqual([[1000, false]]);
    t.observe(a, 2100);
    step(40); // 100 ms since the assignment
    expect(added.idle).toBe(true);
    expect(sent.at(-1)).toEqual([2100, false]);
  });

  it('every partition idle: the watermark moves on with the clock from the greatest, and says idle; a record ends it', () => {
    const { t, sent, step } = tracker({ idleTimeoutMs: 100, maxOutOfOrdernessMs: 5 });
    const a = t.add('x', 0, new Backlog());
    const b = t.add('x', 1, new Backlog());
    t.assigned();
    t.observe(a, 205);
    t.observe(b, 105);
    step();
    expect(sent).toEqual([[100, false]]);
    step(100);
    // Both idle at once: from the greatest of them, 200.
    expect(sent.at(-1)).toEqual([200, true]);
    step(30);
    expect(sent.at(-1)).toEqual([230, true]);
    step(30);
    expect(sent.at(-1)).toEqual([260, true]);
    t.observe(b, 300);
    step(10);
    // Active again: b's 295 is past 260, a is still idle.
    expect(sent.at(-1)).toEqual([295, false]);
    step(100);
    // Idle again: from where it is now.
    expect(sent.at(-1)).toEqual([295, true]);
    step(5);
    expect(sent.at(-1)).toEqual([300, true]);
  });

  it('a task with no partitions is idle once its group assigned it none; before joining it holds', () => {
    const { t, sent, step } = tracker({ idleTimeoutMs: 100 });
    step(500);
    expect(sent).toEqual([]);
    t.assigned();
    step();
    expect(sent).toEqual([[-Infinity, true]]);
    step(100);
    expect(sent).toEqual([[-Infinity, true]]);
    // Gets a partition: it holds (no watermark yet), and the task is no longer idle.
    const p = t.add('x', 0, new Backlog());
    step();
    expect(sent.at(-1)).toEqual([-Infinity, false]);
    t.observe(p, 50);
    step();
    expect(sent.at(-1)).toEqual([50, false]);
    // Loses it: idle, moving on from 50.
    t.remove('x', 0);
    step(10);
    expect(sent.at(-1)).toEqual([50, true]);
    step(10);
    expect(sent.at(-1)).toEqual([60, true]);
  });

  it('with idleTimeoutMs 0 a quiet partition holds the watermark for good', () => {
    const { t, sent, step } = tracker();
    const a = t.add('x', 0, new Backlog());
    const b = t.add('x', 1, new Backlog());
    t.assigned();
    t.observe(a, 100);
    t.observe(b, 10);
    step();
    for (let i = 0; i < 100; i++) {
      t.observe(a, 100 + i * 100);
      step(1000);
    }
    expect(sent).toEqual([[10, false]]);
    expect(b.idle).toBe(false);
  });

  it('a restored partition starts from its checkpointed watermark; snapshot gives each partition that has one', () => {
    const { t, sent, step } = tracker({ maxOutOfOrdernessMs: 50 });
    const a = t.add('x', 0, new Backlog(), 400);
    t.add('x', 1, new Backlog(), 300);
    const c = t.add('y', 0, new Backlog());
    t.assigned();
    expect(t.watermarkOf(a)).toBe(400);
    expect(t.snapshot()).toEqual([
      ['x', 0, 400],
      ['x', 1, 300],
    ]);
    t.observe(c, 1000);
    step();
    expect(sent).toEqual([[300, false]]);
    t.observe(a, 420); // below 400 + 50: does not move it
    expect(t.watermarkOf(a)).toBe(400);
  });

  it('after a restore, partitions not given back yet hold the watermark at their checkpointed ones until assigned again; then it is the least over owned partitions', () => {
    const { t, sent, step, clock } = tracker({ maxOutOfOrdernessMs: 10 });
    const until = clock.now() + 5000;
    // The task owned x/0..x/2 at the checkpoint; x/2 had no watermark yet.
    t.hold('x', 0, 400, until);
    t.hold('x', 1, 300, until);
    t.hold('x', 2, undefined, until);
    expect(t.held.map((h) => [h.partition, h.watermark])).toEqual([
      [0, 400],
      [1, 300],
      [2, -Infinity],
    ]);
    // The group gives back x/0 alone at first (a restart within the session timeout: the dead member still has the rest).
    const a = t.add('x', 0, new Backlog(), 400);
    t.assigned();
    t.observe(a, 2000);
    step(100);
    // x/2 has no watermark: nothing may be sent, however far x/0 runs.
    expect(sent).toEqual([]);
    expect(t.held.map((h) => h.partition)).toEqual([1, 2]);
    // x/2 comes back and reads a record: x/1, still away, holds at its checkpointed 300.
    const c = t.add('x', 2, new Backlog());
    t.observe(c, 700);
    step(100);
    expect(sent).toEqual([[300, false]]);
    // x/1 back with its checkpointed watermark: the least over owned partitions, nothing late.
    const b = t.add('x', 1, new Backlog(), 300);
    expect(t.held).toEqual([]);
    step(100);
    expect(sent).toEqual([[300, false]]);
    t.observe(b, 500);
    step(100);
    expect(sent.at(-1)).toEqual([490, false]);
    expect(t.late).toBe(0);
  });

  it('a held partition that the group does not give back holds only until the deadline; it keeps an idle task from moving on with the clock meanwhile', () => {
    const { t, sent, step, clock } = tracker({ idleTimeoutMs: 100 });
    t.hold('x', 0, 400, clock.now() + 1000);
    t.hold('x', 1, 250, clock.now() + 1000);
    t.assigned();
    step(10);
    // Joined with no partition, but holding: not idle, at the least held watermark.
    expect(sent).toEqual([[250, false]]);
    const a = t.add('x', 0, new Backlog(), 400);
    t.observe(a, 900);
    step(500);
    expect(sent).toEqual([[250, false]]);
    expect(t.held.map((h) => h.partition)).toEqual([1]);
    expect(t.heldUntil).toBe(clock.now() + 490);
    t.observe(a, 950);
    step(490);
    // The deadline: x/1 is another member's; the owned x/0 alone decides.
    expect(t.held).toEqual([]);
    expect(t.heldUntil).toBe(-Infinity);
    expect(sent.at(-1)).toEqual([950, false]);
    // x/1 turns up later after all, with its lower watermark: it cannot pull the watermark back.
    const b = t.add('x', 1, new Backlog(), 250);
    t.observe(b, 260);
    step(10);
    expect(sent.at(-1)).toEqual([950, false]);
    expect(t.late).toBe(1);
    // A hold whose deadline has passed already does nothing.
    t.hold('x', 5, 0, clock.now());
    expect(t.held).toEqual([]);
  });

  it('non-finite event times are counted and do not move the watermark', () => {
    const { t, step } = tracker();
    const a = t.add('x', 0, new Backlog());
    t.assigned();
    expect(t.observe(a, NaN)).toBe(false);
    expect(t.observe(a, Infinity)).toBe(false);
    expect(t.observe(a, 10)).toBe(true);
    step();
    expect([t.bad, t.watermark]).toEqual([2, 10]);
  });

  it('seeded random streams, bounded disorder per partition, stalls longer than the idle timeout with records waiting: the watermark never passes a record not yet emitted', () => {
    const violations: string[] = [];
    for (let seed = 1; seed <= 20; seed++) {
      // mulberry32
      let x = seed >>> 0;
      const rnd = (n: number): number => {
        x = (x + 0x6d2b79f5) >>> 0;
        let z = x;
        z = Math.imul(z ^ (z >>> 15), z | 1);
        z ^= z + Math.imul(z ^ (z >>> 7), z | 61);
        return ((z ^ (z >>> 14)) >>> 0) % n;
      };
      const ooo = 20;
      const { t, step, clock } = tracker({ maxOutOfOrdernessMs: ooo, idleTimeoutMs: 500, intervalMs: 10 });
      const P = 4;
      // Per partition: records not yet emitted; each within `ooo` below the partition's largest so far.
      const queued: number[][] = [];
      const backlogs: Backlog[] = [];
      const parts: PartitionTime[] = [];
      const stalledUntil: number[] = [];
      for (let p = 0; p < P; p++) {
        let max = 0;
        const q: number[] = [];
        for (let i = 0; i < 200; i++) {
          const ts = Math.max(0, max + rnd(30) - rnd(ooo + 1));
          if (ts > max) max = ts;
          q.push(ts);
        }
        queued.push(q);
        backlogs.push(new Backlog());
        parts.push(t.add('t', p, backlogs[p]!));
        stalledUntil.push(0);
      }
      t.assigned();
      for (let round = 0; round < 3000; round++) {
        const now = clock.now();
        for (let p = 0; p < P; p++) {
          const q = queued[p]!;
          // Stalled (downstream backpressure, a paused partition): records wait, none is emitted, for longer than the idle timeout.
          if (stalledUntil[p]! <= now && q.length > 0 && rnd(400) === 0) stalledUntil[p] = now + 500 + rnd(1500);
          const stalled = stalledUntil[p]! > now;
          backlogs[p]!.backlogged = q.length > 0 && (stalled || rnd(2) === 0);
          if (!stalled && q.length > 0 && rnd(8) === 0) t.observe(parts[p]!, q.shift()!);
        }
        step(rnd(15));
        for (let p = 0; p < P; p++) {
          const next = queued[p]![0];
          if (next !== undefined && next < t.watermark) violations.push(`seed ${seed} round ${round}: partition ${p}'s next record ${next} is behind the watermark ${t.watermark}`);
        }
      }
      // The rest, then nothing more.
      for (let p = 0; p < P; p++) {
        for (const ts of queued[p]!.splice(0)) t.observe(parts[p]!, ts);
        backlogs[p]!.backlogged = false;
      }
      if (t.late !== 0) violations.push(`seed ${seed}: ${t.late} late`);
      // Once every partition is quiet, the watermark moves on with the clock, past the greatest.
      step(0);
      step(500);
      const at = t.watermark;
      step(100);
      const most = Math.max(...parts.map((p) => t.watermarkOf(p)));
      if (!t.idle || t.watermark !== at + 100 || at < most) violations.push(`seed ${seed}: at the end ${at} then ${t.watermark} (idle ${t.idle}); the greatest partition's is ${most}`);
    }
    expect(violations.slice(0, 5)).toEqual([]);
  });

  it('bad options are E_BAD_CONFIG naming the option', () => {
    expect(() => resolveEventTime({ maxOutOfOrdernessMs: -1 }, "KafkaSpout 'in'")).toThrow(
      expect.objectContaining({ code: 'E_BAD_CONFIG', message: expect.stringContaining("KafkaSpout 'in': eventTime.maxOutOfOrdernessMs is -1") }),
    );
    expect(() => resolveEventTime({ intervalMs: 0 }, 'w')).toThrow(expect.objectContaining({ code: 'E_BAD_CONFIG', message: expect.stringContaining('eventTime.intervalMs') }));
    expect(() => resolveEventTime({ timestamp: 'value' as 'record' }, 'w')).toThrow(expect.objectContaining({ code: 'E_BAD_CONFIG', message: expect.stringContaining('eventTime.timestamp') }));
    expect(resolveEventTime(undefined, 'w')).toBeNull();
    expect(() => resolveEventTime({ intervalRecords: 2.5 }, 'w')).toThrow(expect.objectContaining({ code: 'E_BAD_CONFIG', message: expect.stringContaining('eventTime.intervalRecords is 2.5') }));
    expect(() => resolveEventTime({ intervalRecords: 0 }, 'w')).toThrow(expect.objectContaining({ code: 'E_BAD_CONFIG', message: expect.stringContaining('eventTime.intervalRecords') }));
    expect(() => resolveEventTime({ restoreHoldMs: -5 }, 'w')).toThrow(expect.objectContaining({ code: 'E_BAD_CONFIG', message: expect.stringContaining('eventTime.restoreHoldMs is -5') }));
    expect(resolveEventTime({}, 'w')).toEqual({ timestampOf: null, maxOutOfOrdernessMs: 0, idleTimeoutMs: 0, intervalMs: 200, intervalRecords: 1000, restoreHoldMs: 45_000 });
    // The hold's default follows the consumer's session timeout.
    expect(resolveEventTime({}, 'w', 6000)!.restoreHoldMs).toBe(21_000);
    expect(resolveEventTime({ restoreHoldMs: 0 }, 'w', 6000)!.restoreHoldMs).toBe(0);
  });
});
