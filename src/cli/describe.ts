import { parseStrategy, parseThreadHeapMb, parseThreads } from './args.ts';
import type { GroupingSpec } from '../grouping/index.ts';
import type { Plan, SchedulingStrategy } from '../scheduler/index.ts';
import { planTopology, resourcesOf } from '../scheduler/index.ts';
import { loadTopologyModule } from '../topology/index.ts';
import type { Topology } from '../topology/index.ts';
import { write } from './output.ts';
import { table } from './table.ts';

export interface DescribeOptions {
  threads?: string;
  strategy?: string;
  threadHeapMb?: string;
  json?: boolean;
  stack?: boolean;
}

/**
 * What `squall describe --json` prints. The plan lists hosts and, per task,
 * its host, so it reads the same when a topology is spread over threads.
 */
export interface TopologyDescription {
  topology: string;
  config: Record<string, unknown>;
  components: Record<string, ComponentDescription>;
  plan: {
    /** The strategy that placed the tasks ('even', 'resource-aware', ...). */
    strategy: string;
    /** Resource-aware only: what each host offers (cpu in percent of a core, memory in MB). */
    budget?: { cpuPerHost: number; memoryMbPerHost: number };
    hosts: { hostId: number; tasks: number[] }[];
    /** Per host: the resources hints of its tasks added up (what resource-aware keeps within the budget). */
    hostResources: { hostId: number; cpu: number; memoryMb: number }[];
    tasks: { taskId: number; component: string; index: number; host: number }[];
  };
}

export interface ComponentDescription {
  kind: 'spout' | 'bolt';
  parallelism: number;
  /** Resources hints per task, defaults filled in: cpu in percent of a core, memory in MB. */
  resources: { cpu: number; memoryMb: number };
  tickFrequencyMs: number;
  config: Record<string, unknown>;
  streams: Record<string, { fields: string[]; direct: boolean }>;
  inputs: { component: string; stream: string; grouping: { type: string; fields?: string[] } }[];
}

/** `squall describe <module>`. Resolves to the exit code. */
export async function describeCommand(modulePath: string, options: DescribeOptions): Promise<number> {
  const topology = await loadTopologyModule(modulePath);
  const threads = parseThreads(options.threads);
  const strategy = parseStrategy(options.strategy, parseThreadHeapMb(options.threadHeapMb));
  const d = describeTopology(topology, planTopology(topology, { hosts: Math.max(1, threads), strategy }), strategy);
  await write(process.stdout, options.json === true ? JSON.stringify(d, jsonSafe, 2) + '\n' : formatDescription(d));
  return 0;
}

/**
 * What `squall describe` shows, as data: components, streams, groupings and
 * the plan (by default one host, as a local run places the tasks).
 * `formatDescription` gives the text `squall describe` prints.
 */
export function describeTopology(topology: Topology, plan: Plan = planTopology(topology, { hosts: 1 }), strategy?: SchedulingStrategy): TopologyDescription {
  const components: Record<string, ComponentDescription> = {};
  for (const id of [...topology.components.keys()].sort()) {
    const c = topology.components.get(id)!;
    const streams: ComponentDescription['streams'] = {};
    for (const s of c.streams.values()) streams[s.id] = { fields: [...s.fields], direct: s.direct };
    components[id] = {
      kind: c.kind,
      parallelism: c.parallelism,
      resources: { ...resourcesOf(topology, id) },
      tickFrequencyMs: c.tickFrequencyMs,
      config: { ...c.config },
      streams,
      inputs: c.inputs.map((i) => ({ component: i.component, stream: i.stream, grouping: grouping(i.grouping) })),
    };
  }
  const tasks: TopologyDescription['plan']['tasks'] = [];
  for (const t of plan.tasks) if (t) tasks.push({ taskId: t.taskId, component: t.component, index: t.index, host: plan.hostOfTask[t.taskId]! });
  const budget = strategy !== undefined && 'budget' in strategy ? (strategy.budget as { cpuPerHost: number; memoryMbPerHost: number }) : undefined;
  return {
    topology: topology.name,
    config: { ...topology.config },
    components,
    plan: {
      strategy: plan.strategy,
      ...(budget ? { budget: { cpuPerHost: budget.cpuPerHost, memoryMbPerHost: budget.memoryMbPerHost } } : {}),
      hosts: plan.hosts.map((h) => ({ hostId: h.hostId, tasks: [...h.tasks] })),
      hostResources: plan.hosts.map((h) => {
        let cpu = 0;
        let memoryMb = 0;
        for (const id of h.tasks) {
          const r = resourcesOf(topology, plan.tasks[id]!.component);
          cpu += r.cpu;
          memoryMb += r.memoryMb;
        }
        return { hostId: h.hostId, cpu: round2(cpu), memoryMb: round2(memoryMb) };
      }),
      tasks,
    },
  };
}

function grouping(g: GroupingSpec): { type: string; fields?: string[] } {
  return 'fields' in g ? { type: g.type, fields: [...g.fields] } : { type: g.type };
}

/** A description as `squall describe` prints it: tables of components, streams, inputs and the plan. */
export function formatDescription(d: TopologyDescription): string {
  let out = `topology '${d.topology}'\n\nconfig: ${Object.entries(d.config)
    .map(([k, v]) => `${k}=${show(v)}`)
    .join(' ')}\n\n`;

  const ids = Object.keys(d.components);
  out += table(
    ['component', 'kind', 'parallelism', 'cpu', 'memory MB', 'tick ms', 'config'],
    ids.map((id) => {
      const c = d.components[id]!;
      return [id, c.kind, c.parallelism, c.resources.cpu, c.resources.memoryMb, c.tickFrequencyMs, Object.keys(c.config).length === 0 ? '-' : show(c.config)];
    }),
  );

  out += '\n';
  const streamRows: (string | number)[][] = [];
  for (const id of ids) {
    for (const [sid, s] of Object.entries(d.components[id]!.streams)) {
      streamRows.push([id, sid, s.fields.join(', ') || '-', s.direct ? 'direct' : '']);
    }
  }
  out += streamRows.length > 0 ? table(['component', 'stream', 'fields', ''], streamRows) : 'no streams declared\n';

  out += '\n';
  const inputRows: string[][] = [];
  for (const id of ids) {
    for (const i of d.components[id]!.inputs) {
      const g = i.grouping.fields ? `${i.grouping.type}(${i.grouping.fields.join(', ')})` : i.grouping.type;
      inputRows.push([id, `${i.component}/${i.stream}`, g]);
    }
  }
  out += inputRows.length > 0 ? table(['bolt', 'input', 'grouping'], inputRows) : 'no inputs\n';

  const hosts = d.plan.hosts.length;
  const b = d.plan.budget;
  const budget = b ? ` (per host: cpu ${show(b.cpuPerHost)}, memory ${show(b.memoryMbPerHost)} MB)` : '';
  out += `\nplan: ${d.plan.tasks.length} tasks on ${hosts} host${hosts === 1 ? '' : 's'}, strategy ${d.plan.strategy}${budget}\n`;
  const componentOf = new Map(d.plan.tasks.map((t) => [t.taskId, t.component]));
  out += table(
    ['host', 'tasks', 'cpu', 'memory MB', 'components'],
    d.plan.hosts.map((h) => {
      const r = d.plan.hostResources.find((x) => x.hostId === h.hostId);
      const counts = new Map<string, number>();
      for (const id of h.tasks) counts.set(componentOf.get(id)!, (counts.get(componentOf.get(id)!) ?? 0) + 1);
      const components = [...counts].map(([c, n]) => (n === 1 ? c : `${c} x${n}`)).join(', ');
      return [h.hostId, h.tasks.length, r?.cpu ?? 0, r?.memoryMb ?? 0, components || '-'];
    }),
  );
  out += '\n';
  out += table(
    ['task', 'component', 'index', 'host'],
    d.plan.tasks.map((t) => [t.taskId, t.component, t.index, t.host]),
  );
  return out;
}

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}

function show(v: unknown): string {
  return typeof v === 'string' ? v : (JSON.stringify(v, jsonSafe) ?? String(v));
}

/** Config may hold values JSON cannot carry; name them instead of dropping them. */
function jsonSafe(_key: string, v: unknown): unknown {
  if (typeof v === 'function') return `[function ${v.name || 'anonymous'}]`;
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof Map) return Object.fromEntries(v);
  if (v instanceof Set) return [...v];
  return v;
}
