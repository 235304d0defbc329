import { SquallError } from '../errors/index.ts';
import { strategyByName } from '../scheduler/index.ts';
import type { SchedulingStrategy } from '../scheduler/index.ts';

/** `--duration <seconds>`: a positive, finite number of seconds (fractions allowed). */
export function parseDuration(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const seconds = raw.trim() === '' ? NaN : Number(raw);
  if (!Number.isFinite(seconds) || seconds <= 0) {
    throw new SquallError({
      code: 'E_BAD_ARGUMENT',
      message: `--duration must be a positive number of seconds, got '${raw}'`,
    });
  }
  return seconds;
}

/** `--threads <n>`: worker threads, a whole number >= 0 (0: local mode, the default). */
export function parseThreads(raw: string | undefined): number {
  if (raw === undefined) return 0;
  const n = raw.trim() === '' ? NaN : Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 256) {
    throw new SquallError({
      code: 'E_BAD_ARGUMENT',
      message: `--threads must be a whole number from 0 (everything on the main thread) to 256, got '${raw}'`,
    });
  }
  return n;
}

/**
 * `--set key=value`, repeatable: config overrides. A value that parses as JSON
 * is taken as JSON (`--set ackers=2`, `--set opts={"a":1}`), anything else is
 * kept as a string (`--set topic=words`). A later --set of a key wins.
 */
export function parseSets(raw: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const item of raw) {
    const eq = item.indexOf('=');
    const key = eq < 0 ? '' : item.slice(0, eq).trim();
    if (eq < 0 || key === '') {
      throw new SquallError({
        code: 'E_BAD_ARGUMENT',
        message: `--set needs key=value, got '${item}'; for example --set maxSpoutPending=500`,
      });
    }
    out[key] = parseValue(item.slice(eq + 1));
  }
  return out;
}

function parseValue(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** Commander collector for repeatable options. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** The default V8 old-generation heap of a worker thread, in MB (as submit's threadHeapMb). */
export const DEFAULT_THREAD_HEAP_MB = 1024;

/** `--thread-heap-mb <n>`: each worker thread's heap limit, a whole number of MB from 16. */
export function parseThreadHeapMb(raw: string | undefined): number {
  if (raw === undefined) return DEFAULT_THREAD_HEAP_MB;
  const n = raw.trim() === '' ? NaN : Number(raw);
  if (!Number.isInteger(n) || n < 16 || n > 1_048_576) {
    throw new SquallError({
      code: 'E_BAD_ARGUMENT',
      message: `--thread-heap-mb must be a whole number of MB, at least 16 (default ${DEFAULT_THREAD_HEAP_MB}), got '${raw}'`,
    });
  }
  return n;
}

/**
 * `--strategy <name>`: how tasks are placed on hosts (default 'even'). The
 * resource-aware strategy plans against a memory budget per host equal to
 * the thread heap. An unknown name is E_BAD_ARGUMENT (from strategyByName).
 */
export function parseStrategy(raw: string | undefined, threadHeapMb: number = DEFAULT_THREAD_HEAP_MB): SchedulingStrategy {
  const name = raw ?? 'even';
  return name === 'resource-aware' ? strategyByName(name, { memoryMbPerHost: threadHeapMb }) : strategyByName(name);
}

/** `rebalance --threads <n>`: worker threads to move to, a whole number from 1 to 256. */
export function parseRebalanceThreads(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const n = raw.trim() === '' ? NaN : Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 256) {
    throw new SquallError({
      code: 'E_BAD_ARGUMENT',
      message: `rebalance --threads must be a whole number from 1 to 256 (a run cannot move back to local mode), got '${raw}'`,
    });
  }
  return n;
}

/** `rebalance --strategy <name>`: checked here, built by the run (against its own thread heap). */
export function parseStrategyName(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  strategyByName(raw);
  return raw;
}

/** `kill --wait <seconds>`: how long the run waits for trees in flight, a number >= 0; in ms. */
export function parseKillWait(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const seconds = raw.trim() === '' ? NaN : Number(raw);
  if (!Number.isFinite(seconds) || seconds < 0) {
    throw new SquallError({
      code: 'E_BAD_ARGUMENT',
      message: `--wait must be a number of seconds, 0 or more, got '${raw}'`,
    });
  }
  return Math.round(seconds * 1000);
}

/** `--trace-sample <rate>`: the fraction of tuple trees traced, a number from 0 to 1 (config traceSample). */
export function parseTraceSample(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const rate = raw.trim() === '' ? NaN : Number(raw);
  if (!(rate >= 0 && rate <= 1)) {
    throw new SquallError({
      code: 'E_BAD_ARGUMENT',
      message: `--trace-sample must be a number from 0 to 1 (the fraction of tuple trees traced, such as 0.01), got '${raw}'`,
    });
  }
  return rate;
}
