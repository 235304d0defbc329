/**
 * Groupings: how a stream's tuples are spread over the tasks of a consuming
 * component. A GroupingSpec is what users write in a topology; createRouter
 * turns it, once per source task at plan time, into a Router: a pure, fast
 * function from a tuple's values to target task ids. See docs/groupings.md.
 */
export type {
  CustomGrouping,
  CustomGroupingContext,
  GroupingSpec,
  Router,
  RouterContext,
} from './types.ts';
export { all, custom, direct, fields, global, isDirect, localOrShuffle, none, partialKey, shuffle } from './spec.ts';
export { createRouter } from './router.ts';
export { fieldsHash, fieldsHashBits } from './hash.ts';
export { PARTIAL_KEY_SEED_1, PARTIAL_KEY_SEED_2 } from './partial-key.ts';
