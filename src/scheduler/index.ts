/**
 * The scheduler: numbers a topology's tasks and decides which host (thread)
 * runs each. A strategy is a plain object (SchedulingStrategy); squall ships
 * 'even' (the default) and 'resource-aware'. See docs/scheduling.md.
 */
export { planTopology } from './plan.ts';
export type { PlanOptions } from './plan.ts';
export type { HostPlan, Plan, SchedulingStrategy, TaskInfo } from './types.ts';
export { evenStrategy } from './even.ts';
export { DEFAULT_BUDGET, resourceAwareStrategy } from './resource-aware.ts';
export type { ResourceAwareStrategy, ResourceBudget } from './resource-aware.ts';
export { STRATEGY_NAMES, strategyByName } from './by-name.ts';
export type { StrategyName } from './by-name.ts';
export { resourcesOf } from './resources.ts';
