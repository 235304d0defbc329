import { SquallError } from '../errors/index.ts';
import { evenStrategy } from './even.ts';
import type { ResourceBudget } from './resource-aware.ts';
import { resourceAwareStrategy } from './resource-aware.ts';
import type { SchedulingStrategy } from './types.ts';

/** The built-in strategies, by the name a user types (`--strategy <name>`). */
export const STRATEGY_NAMES = ['even', 'resource-aware'] as const;
export type StrategyName = (typeof STRATEGY_NAMES)[number];

/**
 * A built-in strategy by name, for the CLI and config files. `budget` applies
 * to 'resource-aware' only. An unknown name is E_BAD_ARGUMENT listing the
 * known ones; custom strategies are passed as objects, not by name.
 */
export function strategyByName(name: StrategyName | (string & {}), budget?: ResourceBudget): SchedulingStrategy {
  switch (name) {
    case 'even':
      return evenStrategy;
    case 'resource-aware':
      return resourceAwareStrategy(budget);
    default:
      throw new SquallError({
        code: 'E_BAD_ARGUMENT',
        message: `unknown scheduling strategy ${JSON.stringify(name)}; use one of: ${STRATEGY_NAMES.join(', ')}`,
        details: { key: 'strategy', value: name },
      });
  }
}
