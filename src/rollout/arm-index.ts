// The arms of every served plan, kept in memory and rebuilt only when plans change: the signal paths' arm check.
import type { ArmsOf } from '../health/arms.ts';
import type { Controller } from './controller.ts';

export function createArmIndex(controller: Controller): ArmsOf {
  let index: Map<string, readonly string[]> | undefined;
  controller.onChange(() => {
    index = undefined;
  });
  return (flag) => {
    index ??= new Map(
      controller
        .listFlags()
        .map((f) => [f.plan.name, ['treatment', 'control', ...(f.plan.variants ?? []).map((v) => v.name)]]),
    );
    return index.get(flag);
  };
}
