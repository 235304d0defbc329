import { parseThreads } from './args.ts';
import type { GroupingSpec } from '../grouping/types.ts';
import type { Plan } from '../scheduler/index.ts';
import { planTopology } from '../scheduler/index.ts';
import { loadTopologyModule } from '../topology/module.ts';
import type { Topology } from '../topology/types.ts';
import { write } from './output.ts';
import { table } from './table.ts';

export interface DescribeOptions {
  threads?: string;
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
    hosts: { hostId: number; tasks: number[] }[];
    tasks: { taskId: number; component: string; index: number; host: number }[];
  };
}

export interface ComponentDescription {
  kind: 'spout' | 'bolt';
  parallelism: number;
  tickFrequencyMs: number;
  config: Record<string, unknown>;
  streams: Record<string, { fields: string[]; direct: boolean }>;
  inputs: { component: string; stream: string; grouping: { type: string; fields?: string[] } }[];
}

/** `squall describe <module>`. Resolves to the exit code. */
export async function describeCommand(modulePath: string, options: DescribeOptions): Promise<number> {
  const topology = await loadTopologyModule(modulePath);
  const threads = parseThreads(options.threads);
  const d = describeTopology(topology, planTopology(topology, { hosts: Math.max(1, threads) }));
  await write(process.stdout, options.json === true ? JSON.stringify(d, jsonSafe, 2) + '\n' : formatDescription(d));
  return 0;
}

export function describeTopology(topology: Topology, plan: Plan): TopologyDescription {
  const components: Record<string, ComponentDescription> = {};
  for (const id of [...topology.components.keys()].sort()) {
    const c = topology.components.get(id)!;
    const streams: ComponentDescription['streams'] = {};
    for (const s of c.streams.values()) streams[s.id] = { fields: [...s.fields], direct: s.direct };
    components[id] = {
      kind: c.kind,
      parallelism: c.parallelism,
      tickFrequencyMs: c.tickFrequencyMs,
      config: { ...c.config },
      streams,
      inputs: c.inputs.map((i) => ({ component: i.component, stream: i.stream, grouping: grouping(i.grouping) })),
    };
  }
  const tasks: TopologyDescription['plan']['tasks'] = [];
  for (const t of plan.tasks) if (t) tasks.push({ taskId: t.taskId, component: t.component, index: t.index, host: plan.hostOfTask[t.taskId]! });
  return {
    topology: topology.name,
    config: { ...topology.config },
    components,
    plan: { hosts: plan.hosts.map((h) => ({ hostId: h.hostId, tasks: [...h.tasks] })), tasks },
  };
}

function grouping(g: GroupingSpec): { type: string; fields?: string[] } {
  return 'fields' in g ? { type: g.type, fields: [...g.fields] } : { type: g.type };
}

export function formatDescription(d: TopologyDescription): string {
  let out = `topology '${d.topology}'\n\nconfig: ${Object.entries(d.config)
    .map(([k, v]) => `${k}=${show(v)}`)
    .join(' ')}\n\n`;

  const ids = Object.keys(d.components);
  out += table(
    ['component', 'kind', 'parallelism', 'tick ms', 'config'],
    ids.map((id) => {
      const c = d.components[id]!;
      return [id, c.kind, c.parallelism, c.tickFrequencyMs, Object.keys(c.config).length === 0 ? '-' : show(c.config)];
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
  out += `\nplan: ${d.plan.tasks.length} tasks on ${hosts} host${hosts === 1 ? '' : 's'}\n`;
  out += table(
    ['task', 'component', 'index', 'host'],
    d.plan.tasks.map((t) => [t.taskId, t.component, t.index, t.host]),
  );
  return out;
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
