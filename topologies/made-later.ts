/**
 * A spout made in open() and a bolt made in prepare(): the example
 * topologies' Kafka and PostgreSQL components take their topics, tables
 * and connections from the topology config, which (with the CLI's --set)
 * is only there once the task starts. The wrapper keeps a restore that
 * comes before (checkpoint mode restores before open/prepare) and hands it
 * to the component it makes, then passes every call on to it.
 */
import type { Bolt, CheckpointHooks, OutputCollector, OutputDeclarer, RestoredState, Spout, SpoutOutputCollector, TopologyContext, Tuple } from '../src/index.ts';

/** What both wrappers share: the component made from the context, the restore kept for it, and the checkpoint hooks passed on. */
abstract class MadeLater<T extends CheckpointHooks> implements CheckpointHooks {
  protected inner: T | undefined;
  private restored: RestoredState | undefined;

  /** The component doing the work, made from the task's context. */
  protected abstract make(context: TopologyContext): T;

  /** Make the inner component and give it the restore that came before it. */
  protected async makeRestored(context: TopologyContext): Promise<T> {
    const inner = (this.inner = this.make(context));
    if (this.restored !== undefined) await inner.restoreState?.(this.restored);
    return inner;
  }

  restoreState(state: RestoredState): void {
    this.restored = state;
  }
  snapshotState(checkpointId: number): unknown {
    return this.inner!.snapshotState?.(checkpointId);
  }
  notifyCheckpointComplete(checkpointId: number): void | Promise<void> {
    return this.inner!.notifyCheckpointComplete?.(checkpointId);
  }
  notifyCheckpointAborted(checkpointId: number): void | Promise<void> {
    return this.inner!.notifyCheckpointAborted?.(checkpointId);
  }
}

/** A spout that makes the spout doing the work in open(), from the context. */
export abstract class SpoutMadeInOpen<S extends Spout> extends MadeLater<S> implements Spout {
  abstract declareOutputFields(d: OutputDeclarer): void;

  async open(context: TopologyContext, collector: SpoutOutputCollector): Promise<void> {
    await (await this.makeRestored(context)).open(context, collector);
  }
  lag(): number {
    return this.inner?.lag?.() ?? 0;
  }
  nextTuple(): void {
    this.inner!.nextTuple();
  }
  ack(msgId: unknown): void {
    this.inner!.ack?.(msgId);
  }
  fail(msgId: unknown): void {
    this.inner!.fail?.(msgId);
  }
  deactivate(): void {
    this.inner?.deactivate?.();
  }
  async close(): Promise<void> {
    await this.inner?.close?.();
  }
}

/** A bolt with no outputs of its own that makes the bolt doing the work in prepare(), from the context. */
export abstract class BoltMadeInPrepare<B extends Bolt> extends MadeLater<B> implements Bolt {
  declareOutputFields(_d: OutputDeclarer): void {}
  async prepare(context: TopologyContext, collector: OutputCollector): Promise<void> {
    await (await this.makeRestored(context)).prepare?.(context, collector);
  }
  execute(input: Tuple): void {
    this.inner!.execute(input);
  }
  async cleanup(): Promise<void> {
    await this.inner?.cleanup?.();
  }
}
