/**
 * The TwoPhaseCommitSink base, on a sink that keeps its "external system"
 * in memory and records every step: one transaction per checkpoint,
 * commits oldest first when a checkpoint completes, pending transactions
 * committed again and the open one aborted on a restore (after a rescale
 * too), and a lost input declining every later checkpoint.
 */
import { describe, expect, it } from 'vitest';
import { TwoPhaseCommitSink } from '../../src/sink/index.ts';
import type { TwoPhaseCommitState } from '../../src/sink/index.ts';
import type { Tuple } from '../../src/index.ts';
import { prepareBolt, testTuple } from '../../src/testing/index.ts';

interface Txn {
  id: string;
  items: string[];
}

/** What the external system holds: committed transactions by id (a commit of an id twice is a no-op), and the log of steps. */
class World {
  readonly committed = new Map<string, { checkpointId: number; items: string[] }>();
  readonly log: string[] = [];
  failNext = false;
  get items(): string[] {
    return [...this.committed.values()].flatMap((c) => c.items).sort();
  }
}

class MemorySink extends TwoPhaseCommitSink<Txn> {
  private seq = 0;
  constructor(private readonly world: World) {
    super();
  }
  protected beginTransaction(afterCheckpoint: number): Txn {
    const id = `${this.context.taskIndex}:${afterCheckpoint}:${this.seq++}`;
    this.world.log.push(`begin ${id}`);
    return { id, items: [] };
  }
  protected async invoke(txn: Txn, input: Tuple): Promise<void> {
    if (this.world.failNext) {
      this.world.failNext = false;
      throw new Error('write failed');
    }
    txn.items.push(input.getString('item'));
  }
  protected preCommit(txn: Txn, checkpointId: number): void {
    this.world.log.push(`preCommit ${txn.id} @${checkpointId}`);
  }
  protected commit(txn: Txn, checkpointId: number): void {
    this.world.log.push(`commit ${txn.id} @${checkpointId}`);
    if (!this.world.committed.has(txn.id)) this.world.committed.set(txn.id, { checkpointId, items: [...txn.items] });
  }
  protected abort(txn: Txn): void {
    this.world.log.push(`abort ${txn.id}`);
  }
}

async function sink(world: World, restore?: Parameters<MemorySink['restoreState']>[0], index = 0, parallelism = 1, config: Record<string, unknown> = { ackers: 0 }) {
  const s = new MemorySink(world);
  if (restore !== undefined) s.restoreState(restore);
  const tasks = Array.from({ length: parallelism }, (_, i) => i + 1);
  const { collector } = await prepareBolt(s, { componentId: 'out', taskId: index + 1, componentTasks: tasks, config });
  return { s, collector };
}

const item = (v: string) => testTuple([v], { fields: ['item'] });
const settle = () => new Promise((r) => setTimeout(r, 0));

describe('TwoPhaseCommitSink', () => {
  it('pre-commits one transaction per checkpoint and commits, oldest first, those up to a completed checkpoint', async () => {
    const world = new World();
    const { s, collector } = await sink(world);
    s.execute(item('a'));
    s.execute(item('b'));
    const s1 = await s.snapshotState(1);
    s.execute(item('c'));
    const s2 = await s.snapshotState(2);
    expect(s1.pending.map((p) => p.checkpointId)).toEqual([1]);
    expect(s2.pending.map((p) => [p.checkpointId, p.txn.items])).toEqual([
      [1, ['a', 'b']],
      [2, ['c']],
    ]);
    expect(world.items).toEqual([]);
    s.notifyCheckpointAborted(1); // committed with the next completed one
    await s.notifyCheckpointComplete(2);
    expect(world.log.filter((l) => l.startsWith('commit'))).toEqual(['commit 0:0:0 @1', 'commit 0:1:1 @2']);
    expect(world.items).toEqual(['a', 'b', 'c']);
    expect(s.pendingCheckpoints()).toEqual([]);
    expect(collector.acked.length).toBe(3);
  });

  it('on a restore commits the checkpoint\'s pending transactions again (idempotently) and aborts the one that was open, before the first input', async () => {
    const world = new World();
    const { s } = await sink(world);
    s.execute(item('a'));
    await s.snapshotState(1);
    s.execute(item('b'));
    const s2 = (await s.snapshotState(2)) as TwoPhaseCommitState<Txn>;
    await s.notifyCheckpointComplete(1); // 2 is durable, but the process dies before its commit
    s.execute(item('lost-after-barrier'));
    await settle();

    const log = world.log.length;
    const { s: next } = await sink(world, { checkpointId: 2, own: s2, all: [{ taskIndex: 0, value: s2 }], previousParallelism: 1 });
    // 2's log still held 1 (its completion came after the barrier): committed again, a no-op in the world.
    expect(world.log.slice(log)).toEqual(['commit 0:0:0 @1', 'commit 0:1:1 @2', 'abort 0:2:2', 'begin 0:2:0']);
    expect(world.items).toEqual(['a', 'b']);
    next.execute(item('c'));
    await next.snapshotState(3);
    await next.notifyCheckpointComplete(3);
    expect(world.items).toEqual(['a', 'b', 'c']);
  });

  it('after a rescale from two tasks to one, the remaining task commits both tasks\' pending transactions', async () => {
    const world = new World();
    const a = (await sink(world, undefined, 0, 2)).s;
    const b = (await sink(world, undefined, 1, 2)).s;
    a.execute(item('a'));
    b.execute(item('b'));
    const sa = await a.snapshotState(1);
    const sb = await b.snapshotState(1);
    const restore = { checkpointId: 1, own: sa, all: [{ taskIndex: 0, value: sa }, { taskIndex: 1, value: sb }], previousParallelism: 2 };
    await sink(world, restore, 0, 1);
    expect(world.items).toEqual(['a', 'b']);
  });

  it('in checkpoint mode a failed write declines every later checkpoint; with ackers the input is failed for replay and checkpoints go on', async () => {
    const world = new World();
    const { s, collector } = await sink(world);
    world.failNext = true;
    const lost = item('x');
    s.execute(lost);
    await expect(s.snapshotState(1)).rejects.toMatchObject({ code: 'E_BAD_STATE', details: { checkpointId: 1 } });
    await expect(s.snapshotState(2)).rejects.toMatchObject({ code: 'E_BAD_STATE' });
    expect(collector.failed).toEqual([lost]);

    const acked = await sink(new World(), undefined, 0, 1, { ackers: 1 });
    (acked.s as unknown as { world: World }).world.failNext = true;
    acked.s.execute(lost);
    await settle();
    expect(acked.collector.failed).toEqual([lost]);
    expect((await acked.s.snapshotState(1)).pending.length).toBe(1);
  });

  it('rejects a restored state that is not a TwoPhaseCommitSink\'s', async () => {
    await expect(sink(new World(), { checkpointId: 4, own: 7, all: [{ taskIndex: 0, value: 7 }], previousParallelism: 1 })).rejects.toMatchObject({
      code: 'E_BAD_STATE',
      details: { checkpointId: 4, taskIndex: 0 },
    });
  });
});
