/**
 * A spout made in open() and a bolt made in prepare(): the example
 * topologies' Kafka and PostgreSQL components take their topics, tables
 * and connections from the topology config, which (with the CLI's --set)
 * is only there once the task starts. The wrapper keeps a restore that
 * comes before (checkpoint mode restores before open/prepare) and hands it
 * to the component it makes, then passes every call on to it.
 */
import type { Bolt, OutputCollector, OutputDeclarer, RestoredState, Spout, SpoutOutputCollector, TopologyContext, Tuple } from '../src/index.ts';

/** A spout that makes the spout doing the work in open(), from the context. */
export abstract class SpoutMadeInOpen<S extends Spout> implements Spout {
  protected inner: S | undefined;
  private restored: RestoredState | undefined;

  abstract declareOutputFields(d: OutputDeclarer): void;
  /** The spout doing the work, made from the task's context. */
  protected abstract make(context: TopologyContext): S;

  restoreState(state: RestoredState): void {
    this.restored = state;
  }
  async open(context: TopologyContext, collector: SpoutOutputCollector): Promise<void> {
    this.inner = this.make(context);
    if (this.restored !== undefined) await this.inner.restoreState?.(this.restored);
    await this.inner.open(context, collector);
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
export abstract class BoltMadeInPrepare<B extends Bolt> implements Bolt {
  protected inner: B | undefined;
  private restored: RestoredState | undefined;

  /** The bolt doing the work, made from the task's context. */
  protected abstract make(context: TopologyContext): B;

  declareOutputFields(_d: OutputDeclarer): void {}
  restoreState(state: RestoredState): void {
    this.restored = state;
  }
  async prepare(context: TopologyContext, collector: OutputCollector): Promise<void> {
    this.inner = this.make(context);
    if (this.restored !== undefined) await this.inner.restoreState?.(this.restored);
    await this.inner.prepare?.(context, collector);
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
  execute(input: Tuple): void {
    this.inner!.execute(input);
  }
  async cleanup(): Promise<void> {
    await this.inner?.cleanup?.();
  }
}
