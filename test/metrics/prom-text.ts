/**
 * A strict parser of the Prometheus text exposition format (0.0.4), for
 * the tests: npm's parse-prometheus-text-format folds every series of a
 * labelled histogram into one and drops the labels, so it cannot check
 * ours. This one throws on anything the format does not allow: a sample
 * before its family's TYPE, a sample name that is not the family's (or,
 * for histograms and summaries, its _bucket/_sum/_count), a bad metric or
 * label name, a bad escape, an unparsable value, a series given twice, a
 * family declared twice.
 */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Family {
  name: string;
  help: string;
  type: 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';
  samples: Sample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

export function parsePrometheusText(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  const series = new Set<string>();
  let current: Family | null = null;
  const lines = text.split('\n');
  if (lines.at(-1) !== '') throw new Error('the exposition must end with a newline');
  lines.forEach((line, i) => {
    const where = `line ${i + 1}: ${line}`;
    if (line.trim() === '') return;
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
      if (!m) return; // a comment
      const [, kind, name, rest] = m as unknown as [string, string, string, string];
      if (!NAME.test(name)) throw new Error(`bad metric name, ${where}`);
      let f = families.get(name);
      if (!f) {
        f = { name, help: '', type: 'untyped', samples: [] };
        families.set(name, f);
        (f as Family & { seen: Set<string> }).seen = new Set();
      }
      const seen = (f as Family & { seen: Set<string> }).seen;
      if (seen.has(kind)) throw new Error(`${kind} given twice for ${name}, ${where}`);
      if (f.samples.length > 0) throw new Error(`${kind} after samples of ${name}, ${where}`);
      seen.add(kind);
      if (kind === 'TYPE') {
        if (!TYPES.has(rest)) throw new Error(`bad type, ${where}`);
        f.type = rest as Family['type'];
      } else f.help = rest;
      current = f;
      return;
    }
    const sample = parseSample(line, where);
    const f: Family | null = current;
    if (f === null) throw new Error(`sample before any TYPE, ${where}`);
    const suffixes = f.type === 'histogram' ? ['_bucket', '_sum', '_count'] : f.type === 'summary' ? ['', '_sum', '_count'] : [''];
    if (!suffixes.some((s) => sample.name === f.name + s)) throw new Error(`sample ${sample.name} outside its family ${f.name}, ${where}`);
    if (f.type === 'histogram' && sample.name.endsWith('_bucket') && sample.labels.le === undefined) throw new Error(`bucket without le, ${where}`);
    const key = `${sample.name}{${Object.entries(sample.labels)
      .sort()
      .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
      .join(',')}}`;
    if (series.has(key)) throw new Error(`series given twice: ${key}`);
    series.add(key);
    f.samples.push(sample);
  });
  for (const f of families.values()) delete (f as Partial<Family & { seen: Set<string> }>).seen;
  return families;
}

function parseSample(line: string, where: string): Sample {
  let i = 0;
  while (i < line.length && /[a-zA-Z0-9_:]/.test(line[i]!)) i++;
  const name = line.slice(0, i);
  if (!NAME.test(name)) throw new Error(`bad sample name, ${where}`);
  const labels: Record<string, string> = {};
  if (line[i] === '{') {
    i++;
    while (line[i] !== '}') {
      let j = i;
      while (j < line.length && line[j] !== '=') j++;
      const label = line.slice(i, j);
      if (!LABEL.test(label)) throw new Error(`bad label name '${label}', ${where}`);
      if (label in labels) throw new Error(`label ${label} twice, ${where}`);
      if (line[j + 1] !== '"') throw new Error(`label value not quoted, ${where}`);
      let value = '';
      let k = j + 2;
      for (;;) {
        const c = line[k];
        if (c === undefined) throw new Error(`unterminated label value, ${where}`);
        if (c === '"') break;
        if (c === '\\') {
          const e = line[k + 1];
          if (e === '\\') value += '\\';
          else if (e === '"') value += '"';
          else if (e === 'n') value += '\n';
          else throw new Error(`bad escape \\${String(e)}, ${where}`);
          k += 2;
        } else {
          value += c;
          k++;
        }
      }
      labels[label] = value;
      i = k + 1;
      if (line[i] === ',') i++;
      else if (line[i] !== '}') throw new Error(`expected , or } after a label, ${where}`);
    }
    i++;
  }
  const rest = line.slice(i);
  const m = /^ (\S+)( -?\d+)?$/.exec(rest);
  if (!m) throw new Error(`bad value part '${rest}', ${where}`);
  const v = m[1]!;
  // Prometheus reads values with Go's ParseFloat, which takes NaN and Inf in any case: prom-client writes an empty mean (the event loop lag before its first sample) as 'Nan'.
  const value = /^\+?inf$/i.test(v) ? Infinity : /^-inf$/i.test(v) ? -Infinity : /^nan$/i.test(v) ? NaN : /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(v) ? Number(v) : null;
  if (value === null) throw new Error(`bad value '${v}', ${where}`);
  return { name, labels, value };
}
