// A plan's identity for change detection: the controller stores it with each plan, assessment folds under it.
import { createHash } from 'node:crypto';
import type { Plan } from './schema.ts';

export const planChecksum = (plan: Plan): string =>
  createHash('sha256').update(JSON.stringify(plan)).digest('hex');
