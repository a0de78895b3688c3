// The `--traffic` input (CLI flag and ?traffic= query): requests per minute for plans with no stored traffic.
import { z } from 'zod';

export const trafficSchema = z.coerce
  .number()
  .positive('must be more than 0 requests per minute')
  .max(1e9, 'must be at most 1e9 requests per minute');
