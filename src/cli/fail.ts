import { isSquallError } from '../errors/index.ts';

export interface FailOptions {
  /** Print the stack (and causes): --stack or SQUALL_DEBUG=1. */
  stack: boolean;
}

export function wantStack(flag: boolean | undefined): boolean {
  return flag === true || process.env['SQUALL_DEBUG'] === '1';
}

/**
 * The text for stderr: `squall: <CODE>: <message>`. Errors that are not
 * SquallErrors are bugs or surprises: they are labelled with their class name
 * (`squall: TypeError: ...`), which is no stable code, and always show their
 * stack.
 */
export function formatFailure(err: unknown, options: FailOptions): string {
  if (isSquallError(err)) {
    let text = `squall: ${err.code}: ${err.message}\n`;
    if (options.stack) text += stackOf(err);
    return text;
  }
  const label = err instanceof Error ? err.name : 'Error';
  const message = err instanceof Error ? err.message : String(err);
  return `squall: ${label}: ${message}\n${stackOf(err)}`;
}

function stackOf(err: unknown): string {
  let text = '';
  let e: unknown = err;
  for (let depth = 0; e !== undefined && e !== null && depth < 5; depth++) {
    const s = e instanceof Error ? (e.stack ?? `${e.name}: ${e.message}`) : String(e);
    text += (depth === 0 ? '' : 'caused by: ') + s + '\n';
    e = e instanceof Error ? e.cause : undefined;
  }
  return text;
}
