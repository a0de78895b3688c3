// Reads a context field the way the Unleash SDKs do: top level first, then `properties`, as a string.
import type { UnleashContext } from './types.ts';

export function resolveContextValue(context: UnleashContext, field: string): string | undefined {
  const value = context[field] ?? context.properties?.[field];
  return value !== undefined && value !== null ? String(value) : undefined;
}
