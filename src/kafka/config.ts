import { SquallError } from '../errors/index.ts';

/** Reading Kafka component settings from options and topology config, with E_BAD_CONFIG errors that name the component. */

/** Brokers from config: a list, or a comma-separated string. */
export function brokersOf(v: unknown): string[] | undefined {
  if (typeof v === 'string') return v.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (Array.isArray(v) && v.every((s) => typeof s === 'string')) return v as string[];
  return undefined;
}

export function optString(c: Readonly<Record<string, unknown>>, key: string, where: string): string | undefined {
  const v = c[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw badConfig(where, key, v, 'a string');
  return v;
}

export function positiveInt(v: unknown, key: string, where: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw badConfig(where, key, v, 'a whole number, at least 1');
  return v;
}

export function nonNegativeInt(v: unknown, key: string, where: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw badConfig(where, key, v, 'a whole number, at least 0');
  return v;
}

export function badConfig(where: string, key: string, value: unknown, want: string): SquallError {
  return new SquallError({
    code: 'E_BAD_CONFIG',
    message: `${where}: ${key} is ${JSON.stringify(value) ?? String(value)}; it must be ${want}`,
    details: { key, value },
  });
}
