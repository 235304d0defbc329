import { SquallError } from '../errors/index.ts';

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
