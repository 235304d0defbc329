/** A number of seconds from the command line; names the option when it is not one. */
export function positiveSeconds(option: string, value: string, zeroOk = false): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0 || (n === 0 && !zeroOk)) {
    throw new RangeError(`${option} is '${value}'; give a ${zeroOk ? 'non-negative' : 'positive'} number of seconds`);
  }
  return n;
}

export function booleanOption(option: string, value: string | undefined): boolean | undefined {
  if (value === undefined) return undefined;
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw new RangeError(`${option} is '${value}'; use true or false`);
}

/** A thread count from the command line (0: local mode), or undefined when not given. */
export function threadCount(option: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < 0) throw new RangeError(`${option} is '${value}'; give a whole number (0 for local mode)`);
  return n;
}
