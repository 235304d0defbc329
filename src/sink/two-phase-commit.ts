import type { Bolt, OutputCollector } from '../bolt/index.ts';
import { SquallError } from '../errors/index.ts';
import type { RestoredState } from '../state/index.ts';
import type { OutputDeclarer, TopologyContext } from '../topology/index.ts';
import type { Tuple } from '../tuple/index.ts';

/** A transaction waiting for its checkpoint to complete, as kept in the operator state. */
export interface PendingTransaction<Txn> {
  readonly checkpointId: number;
  readonly txn: Txn;
}

/** What a TwoPhaseCommitSink task returns from snapshotState. */
export interface TwoPhaseCommitState<Txn> {
  readonly kind: 'squall.two-phase-commit';
  readonly v: 1;
  readonly taskIndex: number;
  /** Pre-committed, oldest first: committed again on a restore from this checkpoint. */
  readonly pending: readonly PendingTransaction<Txn>[];
  /** The transaction begun at this barrier: aborted on a restore from this checkpoint. */
  readonly current: Txn | null;
}

/**
 * A sink with exactly-once output in checkpoint mode, by two-phase commit
 * (Flink's TwoPhaseCommitSinkFunction, in squall's terms). Extend it and
 * write the five steps:
 *
 * - `beginTransaction(afterCheckpoint)`: start a transaction for the inputs
 *   that follow checkpoint `afterCheckpoint` (0 at a fresh start); return
 *   its **handle**, a structured-cloneable value: it is kept in the
 *   operator state, and `commit`/`abort` may get it back in another process.
 * - `invoke(txn, input)`: write one input into the transaction.
 * - `preCommit(txn, checkpointId)`: at checkpoint n's barrier, make the
 *   transaction ready to commit: once this resolves, `commit` must succeed
 *   from the handle alone, after a crash too (flush, stage, prepare).
 * - `commit(txn, checkpointId)`: make it visible, once checkpoint n is
 *   durable. **Idempotent**: after a crash it is called again for every
 *   transaction pending in the restored checkpoint, committed or not.
 * - `abort(txn)`: drop it. Idempotent too: on a restore it is called for the
 *   transaction that was open at the checkpoint, whatever became of it.
 *
 * The base does the bookkeeping: one transaction per checkpoint, pending
 * transactions (handles) in the operator state, commits oldest first when
 * a checkpoint completes (an aborted checkpoint's transaction is committed
 * with the next one that completes), and on `restoreState` the restored
 * checkpoint's pending transactions committed and its open one aborted
 * before the first input (from every old task whose index modulo the new
 * parallelism is this task's, after a rescale). Every step runs in order,
 * one at a time.
 *
 * Inputs are acked once `invoke` resolves. If it fails the input is failed
 * and the error reported; without ackers (checkpoint mode) the input is
 * then lost from the transaction, so every later checkpoint is declined
 * (rejected in snapshotState) and nothing after it commits: a rollback to
 * the last checkpoint must replay it. With ackers the spout replays the
 * input into the transaction, and checkpoints go on.
 *
 * `open(context)` connects (called from prepare, before any transaction);
 * `close()` disconnects (from cleanup, after the open transaction is
 * aborted). The sink emits nothing unless you override declareOutputFields.
 */
export abstract class TwoPhaseCommitSink<Txn> implements Bolt {
  protected collector!: OutputCollector;
  protected context!: TopologyContext;
  private current: Txn | null = null;
  private readonly pending: PendingTransaction<Txn>[] = [];
  private restored: RestoredState | undefined;
  private lastCheckpoint = 0;
  /** A failed invoke lost an input (checkpoint mode): no checkpoint may complete. */
  private lost: unknown = null;
  private queue: Promise<unknown> = Promise.resolve();

  protected abstract beginTransaction(afterCheckpoint: number): Txn | Promise<Txn>;
  protected abstract invoke(txn: Txn, input: Tuple): void | Promise<void>;
  protected abstract preCommit(txn: Txn, checkpointId: number): void | Promise<void>;
  protected abstract commit(txn: Txn, checkpointId: number): void | Promise<void>;
  protected abstract abort(txn: Txn): void | Promise<void>;
  protected open?(context: TopologyContext): void | Promise<void>;
  protected close?(): void | Promise<void>;

  declareOutputFields(_declarer: OutputDeclarer): void {}

  restoreState(state: RestoredState): void {
    this.restored = state;
  }

  async prepare(context: TopologyContext, collector: OutputCollector): Promise<void> {
    this.context = context;
    this.collector = collector;
    await this.open?.(context);
    const r = this.restored;
    this.restored = undefined;
    if (r !== undefined) {
      const parallelism = context.componentTasks.length;
      const commits: PendingTransaction<Txn>[] = [];
      const aborts: Txn[] = [];
      for (const { taskIndex, value } of r.all) {
        if (taskIndex % parallelism !== context.taskIndex) continue;
        const s = value as Partial<TwoPhaseCommitState<Txn>> | null | undefined;
        if (s === null || s === undefined || s.kind !== 'squall.two-phase-commit' || s.v !== 1 || !Array.isArray(s.pending)) {
          throw new SquallError({
            code: 'E_BAD_STATE',
            component: context.componentId,
            message: `sink '${context.componentId}': the operator state of task ${taskIndex} in checkpoint ${r.checkpointId} is not a TwoPhaseCommitSink's; was the component's type changed? Restore with the component as it was, or drop its state`,
            details: { checkpointId: r.checkpointId, taskIndex },
          });
        }
        for (const p of s.pending) if (p.checkpointId <= r.checkpointId) commits.push(p);
        if (s.current !== null && s.current !== undefined) aborts.push(s.current);
      }
      commits.sort((a, b) => a.checkpointId - b.checkpointId);
      // The restored checkpoint is complete: everything pending at it commits.
      for (const p of commits) await this.commit(p.txn, p.checkpointId);
      for (const t of aborts) await this.abort(t);
      this.lastCheckpoint = r.checkpointId;
    }
    this.current = await this.beginTransaction(this.lastCheckpoint);
  }

  execute(input: Tuple): void {
    if (input.isTick) {
      this.collector.ack(input);
      return;
    }
    void this.run(async () => {
      try {
        await this.invoke(this.current!, input);
        this.collector.ack(input);
      } catch (err) {
        this.collector.reportError(err);
        this.collector.fail(input);
        const ackers = this.context.config['ackers'];
        if (!(typeof ackers === 'number' && ackers > 0)) this.lost ??= err;
      }
    });
  }

  /** Pre-commit the open transaction for checkpoint n and begin the next; the state is every pending handle and the new open one. */
  snapshotState(checkpointId: number): Promise<TwoPhaseCommitState<Txn>> {
    return this.run(async () => {
      if (this.lost !== null) {
        throw new SquallError(
          {
            code: 'E_BAD_STATE',
            component: this.context.componentId,
            message: `sink '${this.context.componentId}' (task ${this.context.taskIndex}) lost an input when a write failed, so checkpoint ${checkpointId} is declined; the run must roll back to its last checkpoint to replay it (the write's error was reported)`,
            details: { checkpointId },
          },
          { cause: this.lost },
        );
      }
      const txn = this.current!;
      await this.preCommit(txn, checkpointId);
      this.pending.push({ checkpointId, txn });
      this.current = null;
      this.current = await this.beginTransaction(checkpointId);
      this.lastCheckpoint = checkpointId;
      return { kind: 'squall.two-phase-commit', v: 1, taskIndex: this.context.taskIndex, pending: [...this.pending], current: this.current } satisfies TwoPhaseCommitState<Txn>;
    });
  }

  /** Commit every pending transaction <= n, oldest first; a failure stops there, and the rest is tried again at the next completion (or on a restore). */
  notifyCheckpointComplete(checkpointId: number): Promise<void> {
    return this.run(async () => {
      while (this.pending.length > 0 && this.pending[0]!.checkpointId <= checkpointId) {
        const p = this.pending[0]!;
        await this.commit(p.txn, p.checkpointId);
        this.pending.shift();
      }
    });
  }

  /** Nothing to undo: an aborted checkpoint's transaction commits with the next checkpoint that completes. */
  notifyCheckpointAborted(_checkpointId: number): void {}

  /** Abort the open transaction (pending ones stay for a restart to commit), then close. */
  async cleanup(): Promise<void> {
    await this.run(async () => {
      const t = this.current;
      this.current = null;
      if (t !== null) await this.abort(t);
    }).catch((err: unknown) => this.collector.reportError(err));
    await this.close?.();
  }

  /** Transactions waiting for their checkpoint, oldest first. */
  pendingCheckpoints(): number[] {
    return this.pending.map((p) => p.checkpointId);
  }

  private run<T>(fn: () => Promise<T>): Promise<T> {
    const r = this.queue.then(fn);
    this.queue = r.catch(() => undefined);
    return r;
  }
}
