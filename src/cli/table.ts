export interface TableOptions {
  /** Columns (0-based) to right-align although they hold text: figures formatted beforehand, '-' where none. */
  right?: readonly number[];
}

/** Plain text tables: the first column left-aligned, numbers right-aligned. */
export function table(header: readonly string[], rows: readonly (readonly (string | number)[])[], options: TableOptions = {}): string {
  const cells = [header.map(String), ...rows.map((r) => r.map(cell))];
  const numeric = header.map((_, c) => options.right?.includes(c) === true || (rows.length > 0 && rows.every((r) => typeof r[c] === 'number')));
  const widths = header.map((_, c) => Math.max(...cells.map((r) => (r[c] ?? '').length)));
  return (
    cells
      .map((r) =>
        r
          .map((v, c) => (numeric[c] ? v.padStart(widths[c]!) : v.padEnd(widths[c]!)))
          .join('  ')
          .trimEnd(),
      )
      .join('\n') + '\n'
  );
}

function cell(v: string | number): string {
  return typeof v === 'number' ? formatNumber(v) : v;
}

export function formatNumber(n: number): string {
  return Number.isInteger(n) ? n.toLocaleString('en-US') : n.toLocaleString('en-US', { maximumFractionDigits: 1 });
}

/** 12345 → 12.3k, for the status line. */
export function compact(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (n >= 1e4) return `${(n / 1e3).toFixed(1)}k`;
  return n >= 100 ? Math.round(n).toString() : n.toFixed(n === Math.round(n) ? 0 : 1);
}
