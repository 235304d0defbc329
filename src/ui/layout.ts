import type { GroupingSpec } from '../grouping/index.ts';
import type { Topology } from '../topology/index.ts';

/**
 * The topology graph of the web view, laid out left to right: spouts in the
 * first column, every bolt one column right of its furthest input (longest
 * path layering), the boxes of a column ordered to cross fewer edges
 * (barycenter sweeps), edges as curves from the right side of a box to the
 * left side of the next. Computed once per run on the server, as plain data
 * the page draws with SVG. The system components (the ackers) are not in it.
 */
export interface GraphLayout {
  width: number;
  height: number;
  nodes: GraphNode[];
  edges: GraphEdge[];
}

export interface GraphNode {
  id: string;
  kind: 'spout' | 'bolt';
  parallelism: number;
  /** Column: 0 for spouts, 1 + the furthest input's column for bolts. */
  layer: number;
  /** Row within the column, from the top. */
  order: number;
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface GraphEdge {
  /** `<from>-><to>:<stream>`: unique per subscription. */
  id: string;
  from: string;
  to: string;
  stream: string;
  /** The grouping as the page shows it: `shuffle`, `fields(word)`, ... */
  grouping: string;
  /** A subscription against the flow (to a column at or left of its source): drawn as a loop under the boxes. */
  back: boolean;
  /** SVG path data. */
  path: string;
  labelX: number;
  labelY: number;
}

export const NODE_W = 170;
export const NODE_H = 64;
const GAP_X = 150;
const GAP_Y = 36;
const MARGIN = 24;

/** How an edge's grouping is labelled. */
export function groupingLabel(g: GroupingSpec): string {
  switch (g.type) {
    case 'fields':
      return `fields(${g.fields.join(', ')})`;
    case 'partialKey':
      return `partial-key(${g.fields.join(', ')})`;
    case 'localOrShuffle':
      return 'local-or-shuffle';
    default:
      return g.type;
  }
}

interface Link {
  from: string;
  to: string;
  stream: string;
  grouping: string;
}

/** The layers of a graph by longest path from the sources, with edges that close a cycle left out (they are `back`). */
export function longestPathLayers(ids: readonly string[], links: readonly { from: string; to: string }[]): { layer: Map<string, number>; back: Set<number> } {
  const out = new Map<string, number[]>();
  for (const id of ids) out.set(id, []);
  links.forEach((l, i) => out.get(l.from)?.push(i));
  // Depth-first from every node in declaration order (spouts come first): an edge to a node still on the stack closes a cycle.
  const back = new Set<number>();
  const state = new Map<string, 1 | 2>();
  const order: string[] = [];
  for (const root of ids) {
    if (state.has(root)) continue;
    const stack: { id: string; next: number }[] = [{ id: root, next: 0 }];
    state.set(root, 1);
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      const edges = out.get(top.id)!;
      if (top.next < edges.length) {
        const i = edges[top.next++]!;
        const to = links[i]!.to;
        const s = state.get(to);
        if (s === 1) back.add(i);
        else if (s === undefined && out.has(to)) {
          state.set(to, 1);
          stack.push({ id: to, next: 0 });
        }
      } else {
        state.set(top.id, 2);
        order.push(top.id);
        stack.pop();
      }
    }
  }
  // Reverse post-order is a topological order of the graph without its back edges.
  const layer = new Map<string, number>(ids.map((id) => [id, 0]));
  for (const id of order.reverse()) {
    for (const i of out.get(id)!) {
      if (back.has(i)) continue;
      const to = links[i]!.to;
      layer.set(to, Math.max(layer.get(to)!, layer.get(id)! + 1));
    }
  }
  return { layer, back };
}

export function layoutTopology(topology: Topology): GraphLayout {
  const comps = [...topology.components.values()].filter((c) => !c.id.startsWith('__'));
  // Spouts first, so the depth-first walk starts from them.
  comps.sort((a, b) => (a.kind === b.kind ? 0 : a.kind === 'spout' ? -1 : 1));
  const ids = comps.map((c) => c.id);
  const known = new Set(ids);
  const links: Link[] = [];
  for (const c of comps) {
    for (const input of c.inputs) {
      if (!known.has(input.component)) continue;
      links.push({ from: input.component, to: c.id, stream: input.stream, grouping: groupingLabel(input.grouping) });
    }
  }
  const { layer, back } = longestPathLayers(ids, links);
  const forward = (i: number): boolean => !back.has(i) && layer.get(links[i]!.to)! > layer.get(links[i]!.from)!;
  const columns: string[][] = [];
  for (const id of ids) (columns[layer.get(id)!] ??= []).push(id);
  for (let i = 0; i < columns.length; i++) columns[i] ??= [];
  // An edge over several columns passes each column between through a slot of its own (a waypoint), so it goes round the boxes there, not through them.
  const chains = links.map((l, i) => {
    const chain = [l.from];
    if (forward(i)) for (let k = layer.get(l.from)! + 1; k < layer.get(l.to)!; k++) chain.push(`\u0000${i}:${k}`);
    chain.push(l.to);
    for (const w of chain.slice(1, -1)) columns[layer.get(l.from)! + chain.indexOf(w)]!.push(w);
    return chain;
  });
  const segments: { from: string; to: string }[] = [];
  chains.forEach((chain, i) => {
    if (forward(i)) for (let k = 1; k < chain.length; k++) segments.push({ from: chain[k - 1]!, to: chain[k]! });
  });
  orderColumns(columns, segments);

  const tallest = Math.max(1, ...columns.map((c) => c.length));
  // Room under the boxes for edges against the flow, when there are any.
  const loops = links.some((_, i) => !forward(i));
  const height = MARGIN * 2 + tallest * NODE_H + (tallest - 1) * GAP_Y + (loops ? 56 : 12);
  const slots = new Map<string, { x: number; y: number; layer: number; order: number }>();
  columns.forEach((column, l) => {
    const used = column.length * NODE_H + Math.max(0, column.length - 1) * GAP_Y;
    const top = MARGIN + (tallest * NODE_H + (tallest - 1) * GAP_Y - used) / 2;
    column.forEach((id, order) => slots.set(id, { x: MARGIN + l * (NODE_W + GAP_X), y: top + order * (NODE_H + GAP_Y), layer: l, order }));
  });
  const nodes = new Map<string, GraphNode>();
  for (const id of ids) {
    const c = topology.components.get(id)!;
    const at = slots.get(id)!;
    nodes.set(id, { id, kind: c.kind, parallelism: c.parallelism, layer: at.layer, order: at.order, x: at.x, y: at.y, w: NODE_W, h: NODE_H });
  }
  const width = MARGIN * 2 + columns.length * NODE_W + Math.max(0, columns.length - 1) * GAP_X;
  // Edges leaving one box or entering one are spread over its side, in the order of where they go or come from.
  const fanOut = new Map<string, number[]>();
  const fanIn = new Map<string, number[]>();
  links.forEach((l, i) => {
    if (!forward(i)) return;
    (fanOut.get(l.from) ?? fanOut.set(l.from, []).get(l.from)!).push(i);
    (fanIn.get(l.to) ?? fanIn.set(l.to, []).get(l.to)!).push(i);
  });
  for (const list of fanOut.values()) list.sort((a, b) => slots.get(chains[a]![1]!)!.y - slots.get(chains[b]![1]!)!.y);
  for (const list of fanIn.values()) list.sort((a, b) => slots.get(chains[a]!.at(-2)!)!.y - slots.get(chains[b]!.at(-2)!)!.y);
  const spread = (list: number[], i: number, n: GraphNode): number => n.y + (n.h * (list.indexOf(i) + 1)) / (list.length + 1);
  const curve = (x1: number, y1: number, x2: number, y2: number): string => {
    const dx = Math.max(40, (x2 - x1) / 2);
    return ` C ${x1 + dx} ${y1}, ${x2 - dx} ${y2}, ${x2} ${y2}`;
  };

  const edges: GraphEdge[] = links.map((l, i) => {
    const a = nodes.get(l.from)!;
    const b = nodes.get(l.to)!;
    const id = `${l.from}->${l.to}:${l.stream}`;
    const base = { id, from: l.from, to: l.to, stream: l.stream, grouping: l.grouping };
    if (!forward(i)) {
      // Out of a's bottom, down below everything, back into b's bottom.
      const x1 = a.x + a.w / 2;
      const x2 = b.x + b.w / 2 + (a === b ? 30 : 0);
      const low = height - 14;
      const path =
        a === b
          ? `M ${x1 - 20} ${a.y + a.h} C ${x1 - 20} ${a.y + a.h + 40}, ${x2} ${a.y + a.h + 40}, ${x2} ${b.y + b.h}`
          : `M ${x1} ${a.y + a.h} C ${x1} ${low}, ${x2} ${low}, ${x2} ${b.y + b.h}`;
      return { ...base, back: true, path, labelX: (x1 + x2) / 2, labelY: a === b ? a.y + a.h + 36 : low - 10 };
    }
    // Through the waypoints: a curve across each gap between columns, straight across each column passed.
    const points: [number, number][] = [[a.x + a.w, spread(fanOut.get(l.from)!, i, a)]];
    for (const w of chains[i]!.slice(1, -1)) {
      const at = slots.get(w)!;
      points.push([at.x, at.y + NODE_H / 2], [at.x + NODE_W, at.y + NODE_H / 2]);
    }
    points.push([b.x, spread(fanIn.get(l.to)!, i, b)]);
    let path = `M ${points[0]![0]} ${points[0]![1]}`;
    for (let k = 1; k < points.length; k++) {
      const [x1, y1] = points[k - 1]!;
      const [x2, y2] = points[k]!;
      path += k % 2 === 1 ? curve(x1, y1, x2, y2) : ` L ${x2} ${y2}`;
    }
    // The label sits in the middle of the first gap.
    const [[x1, y1], [x2, y2]] = points as [[number, number], [number, number]];
    return { ...base, back: false, path, labelX: (x1 + x2) / 2, labelY: (y1 + y2) / 2 - 5 };
  });
  return { width, height, nodes: [...nodes.values()], edges };
}

/** Order each column by the mean row of its neighbours in the column before (then after), a few sweeps: fewer crossings. */
function orderColumns(columns: string[][], segments: readonly { from: string; to: string }[]): void {
  const rank = new Map<string, number>();
  columns.forEach((c) => c.forEach((id, i) => rank.set(id, i)));
  for (let sweep = 0; sweep < 4; sweep++) {
    const down = sweep % 2 === 0;
    for (let k = 1; k < columns.length; k++) {
      const l = down ? k : columns.length - 1 - k;
      const column = columns[l]!;
      const centre = new Map<string, number>();
      for (const id of column) {
        const neighbours = segments.filter((e) => (down ? e.to === id : e.from === id)).map((e) => rank.get(down ? e.from : e.to)!);
        centre.set(id, neighbours.length > 0 ? neighbours.reduce((a, b) => a + b, 0) / neighbours.length : rank.get(id)!);
      }
      // A stable sort keeps declaration order between equals.
      column.sort((a, b) => centre.get(a)! - centre.get(b)!);
      column.forEach((id, i) => rank.set(id, i));
    }
  }
}
