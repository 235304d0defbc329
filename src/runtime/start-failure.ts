import { isSquallError, SquallError } from '../errors/index.ts';

/**
 * What a host that could not start reports: the executor's own coded error
 * when it has one (it names the component), otherwise E_COMPONENT_THREW
 * with the cause. Local and worker hosts report start failures alike.
 */
export function wrapStartFailure(err: unknown): SquallError {
  if (isSquallError(err)) return err;
  return new SquallError({ code: 'E_COMPONENT_THREW', message: `a task threw while starting: ${err instanceof Error ? err.message : String(err)}` }, { cause: err });
}
