import { DEFAULT_CONFIG } from '../topology/index.ts';

/**
 * The edit distance between two strings: the fewest single-character
 * insertions, deletions, substitutions and swaps of two neighbours that turn
 * one into the other (optimal string alignment). `maxSpoutPendng` is 1 from
 * `maxSpoutPending`, and so is `maxSpoutPendnig`.
 */
export function editDistance(a: string, b: string): number {
  if (a === b) return 0;
  if (a.length === 0) return b.length;
  if (b.length === 0) return a.length;
  // Three rows of the table: the one before last (for swaps), the last, this one.
  let before = new Array<number>(b.length + 1).fill(0);
  let last = Array.from({ length: b.length + 1 }, (_, j) => j);
  let row = new Array<number>(b.length + 1).fill(0);
  for (let i = 1; i <= a.length; i++) {
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(last[j]! + 1, row[j - 1]! + 1, last[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, before[j - 2]! + 1);
      row[j] = d;
    }
    [before, last, row] = [last, row, before];
  }
  return last[b.length]!;
}

/**
 * The built-in config key (a key of DEFAULT_CONFIG) that `key` is most likely
 * a misspelling of: within `maxDistance` edits, ignoring case, and not the key
 * itself. Null when there is none, so a user key like `sentences` passes.
 */
export function nearBuiltInKey(key: string, maxDistance = 2): string | null {
  let best: string | null = null;
  let bestDistance = Infinity;
  for (const known of Object.keys(DEFAULT_CONFIG)) {
    if (key === known) return null;
    const d = editDistance(key.toLowerCase(), known.toLowerCase());
    if (d <= maxDistance && d < bestDistance) {
      best = known;
      bestDistance = d;
    }
  }
  return best;
}

/**
 * One warning line per `--set` whose key is not a built-in key but close to
 * one (`squall: warning: --set maxSpoutPendng=5: did you mean
 * maxSpoutPending?`). The value still goes to user config: a component may
 * read a key of that name on purpose.
 */
export function setKeyWarnings(raw: readonly string[]): string[] {
  const out: string[] = [];
  for (const item of raw) {
    const eq = item.indexOf('=');
    if (eq < 0) continue;
    const near = nearBuiltInKey(item.slice(0, eq).trim());
    if (near !== null) out.push(`squall: warning: --set ${item}: did you mean ${near}?\n`);
  }
  return out;
}
