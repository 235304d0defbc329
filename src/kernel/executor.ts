import type { Plan } from '../scheduler/index.ts';
import type { ComponentDef, Topology, TopologyConfig } from '../topology/index.ts';
import type { TopologyContext } from '../topology/index.ts';
import { SquallError } from '../errors/index.ts';
import type { HostLink } from './host-link.ts';
import { Mailbox } from './mailbox.ts';
import type { OutStream } from './outputs.ts';
import { TrackOutbox } from './track-outbox.ts';

/**
 * An executor is an actor: it owns one task's state and mailbox and handles
 * one message at a time. The host calls `runSlice` to let it work through a
 * bounded number of messages, sized from the task's measured cost per
 * message so that every task gets a fair share of time, not of messages.
 * Tracking records it produces go out in batches at the end of the slice.
 */
export abstract class Executor<M> {
  readonly mailbox: Mailbox<M>;
  /** Mailboxes of the local tasks this task emits to, and links to the hosts of remote ones: a full one holds it back. */
  downstream: { hasRoom(): boolean }[] = [];
  /** Emit calls. */
  emitted = 0;
  /** Tuples delivered to tasks (an emit to three tasks counts three). */
  transferred = 0;
  executed = 0;
  acked = 0;
  failed = 0;
  /** Sampled execute times (bolts): their sum and count. */
  sampledMs = 0;
  samples = 0;
  /** Outgoing tracking records, flushed at the end of each slice. */
  readonly track: TrackOutbox;
  /** The host's estimate of what one message (or nextTuple call) costs this task, in ms. */
  msPerMessage = 0.001;

  constructor(
    readonly taskId: number,
    readonly component: string,
    readonly kind: 'spout' | 'bolt' | 'acker',
    protected readonly host: HostLink,
    capacity: number,
  ) {
    this.mailbox = new Mailbox<M>(capacity);
    this.track = new TrackOutbox(host, host.taskCount);
  }

  /** Work through at most `budget` messages or emits; return how many. */
  abstract runSlice(budget: number): number;
  /** Create the user instance and open/prepare it. */
  abstract start(): Promise<void>;
  /** Close/cleanup the user instance. */
  abstract stop(): Promise<void>;

  /**
   * Build the user's instance with `make`, then open or prepare it with
   * `init`, turning a throw into an error that names the component: the
   * factory's as E_BAD_FACTORY, open/prepare's as E_COMPONENT_THREW (a
   * SquallError of the user's own keeps its code). The same in local and
   * threaded mode.
   */
  protected async startInstance<T>(make: () => T, phase: string, init: (instance: T) => void | Promise<void>): Promise<T> {
    let instance: T;
    try {
      instance = make();
    } catch (err) {
      throw new SquallError(
        {
          code: 'E_BAD_FACTORY',
          component: this.component,
          message: `the factory of ${this.kind} '${this.component}' threw when task ${this.taskId} started: ${describe(err)}; a factory should only construct the component (open connections in open()/prepare())`,
        },
        { cause: err },
      );
    }
    try {
      await init(instance);
    } catch (err) {
      if (err instanceof SquallError && err.component !== undefined) throw err;
      throw new SquallError(
        {
          code: err instanceof SquallError ? err.code : 'E_COMPONENT_THREW',
          component: this.component,
          message: `${this.kind} '${this.component}' (task ${this.taskId}) threw in ${phase}(): ${describe(err)}`,
          // A coded error keeps what it says in its details (E_KAFKA_UNREACHABLE: the brokers tried).
          details: err instanceof SquallError ? err.details : undefined,
        },
        { cause: err },
      );
    }
    return instance;
  }

  downstreamHasRoom(): boolean {
    const d = this.downstream;
    for (let i = 0; i < d.length; i++) if (!d[i]!.hasRoom()) return false;
    return true;
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export function makeContext(
  topology: Topology,
  plan: Plan,
  def: ComponentDef,
  taskId: number,
  runId: string,
  host: HostLink,
  outputs: Map<string, OutStream>,
): TopologyContext {
  const config: Readonly<Record<string, unknown>> = Object.freeze({ ...topology.config, ...def.config } as TopologyConfig);
  return {
    topologyName: topology.name,
    runId,
    componentId: def.id,
    taskId,
    taskIndex: plan.tasks[taskId]!.index,
    componentTasks: plan.componentTasks.get(def.id)!,
    config,
    clock: host.clock,
    random: host.random,
    outputFields(stream = 'default') {
      const s = outputs.get(stream);
      if (!s) {
        throw new SquallError({
          code: 'E_UNKNOWN_STREAM',
          component: def.id,
          stream,
          message: `'${def.id}' declares no stream '${stream}'; it declares: ${[...outputs.keys()].join(', ') || 'none'}`,
        });
      }
      return s.fields;
    },
  };
}
