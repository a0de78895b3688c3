// Unleash client-API wire types (`GET /api/client/features`, version 2) and the evaluation result shape.

export type ConstraintOperator =
  | 'IN'
  | 'NOT_IN'
  | 'STR_ENDS_WITH'
  | 'STR_STARTS_WITH'
  | 'STR_CONTAINS'
  | 'NUM_EQ'
  | 'NUM_GT'
  | 'NUM_GTE'
  | 'NUM_LT'
  | 'NUM_LTE'
  | 'DATE_AFTER'
  | 'DATE_BEFORE'
  | 'SEMVER_EQ'
  | 'SEMVER_GT'
  | 'SEMVER_LT'
  | 'SEMVER_GTE'
  | 'SEMVER_LTE'
  | 'REGEX'
  | 'IN_CIDR';

export interface UnleashConstraint {
  contextName: string;
  /** Kept open: an operator this engine does not know evaluates to false, as in the SDKs. */
  operator: ConstraintOperator | (string & {});
  /** List operators (IN, NOT_IN, STR_*, IN_CIDR) read `values`; single-value operators read `value`. */
  values?: string[];
  value?: string;
  inverted?: boolean;
  caseInsensitive?: boolean;
}

export interface UnleashSegment {
  id: number;
  name?: string | null;
  constraints: UnleashConstraint[];
}

export type PayloadType = 'string' | 'json' | 'csv' | 'number';

export interface UnleashPayload {
  type: PayloadType | (string & {});
  value: string;
}

export interface UnleashOverride {
  contextName: string;
  values: string[];
}

export type WeightType = 'fix' | 'variable';

/** A feature-level variant. Weights are out of 1000 as the server sends them. */
export interface UnleashVariant {
  name: string;
  weight: number;
  weightType?: WeightType;
  stickiness?: string;
  payload?: UnleashPayload;
  overrides?: UnleashOverride[];
}

/** A strategy variant: served when its strategy matches, before any feature-level variant. */
export interface UnleashStrategyVariant {
  name: string;
  weight: number;
  weightType?: WeightType;
  stickiness?: string;
  payload?: UnleashPayload;
}

export interface UnleashStrategy {
  name: string;
  id?: string;
  title?: string | null;
  sortOrder?: number;
  /** Parameter values are strings on the wire (`rollout: "25"`, `userIds: "a,b"`). */
  parameters?: Record<string, string>;
  constraints?: UnleashConstraint[];
  segments?: number[];
  variants?: UnleashStrategyVariant[];
}

export interface UnleashDependency {
  feature: string;
  /** Absent means true: the parent must be enabled. */
  enabled?: boolean;
  /** When set, the parent must be enabled with one of these variants. */
  variants?: string[];
}

export interface UnleashFeature {
  name: string;
  type?: string;
  description?: string | null;
  enabled: boolean;
  stale?: boolean;
  impressionData?: boolean | null;
  project?: string;
  strategies: UnleashStrategy[];
  variants?: UnleashVariant[] | null;
  dependencies?: UnleashDependency[];
}

/** The body of `GET /api/client/features`. */
export interface ClientFeaturesResponse {
  version: number;
  features: UnleashFeature[];
  segments?: UnleashSegment[];
  query?: Record<string, unknown>;
}

export interface UnleashContextProperties {
  [key: string]: string | number | null | undefined;
}

/** Unknown top-level fields are looked up before `properties`, as the SDKs do. */
export interface UnleashContext {
  userId?: string;
  sessionId?: string;
  remoteAddress?: string;
  environment?: string;
  appName?: string;
  currentTime?: string | Date;
  properties?: UnleashContextProperties;
  [key: string]: string | number | Date | UnleashContextProperties | null | undefined;
}

/** A closed set, after flagd / OFREP. */
export type EvaluationReason = 'STATIC' | 'TARGETING_MATCH' | 'SPLIT' | 'DISABLED' | 'DEFAULT' | 'ERROR';

export type EvaluationErrorCode = 'FLAG_NOT_FOUND' | 'PARSE_ERROR' | 'GENERAL';

/** The variant as the SDKs' `getVariant` returns it; `disabled` when there is none. */
export interface EvaluatedVariant {
  name: string;
  enabled: boolean;
  /** Shared and frozen: copy it before changing it. */
  payload?: Readonly<UnleashPayload>;
  feature_enabled: boolean;
}

export interface Evaluation {
  enabled: boolean;
  variant: EvaluatedVariant;
  reason: EvaluationReason;
  errorCode?: EvaluationErrorCode;
}

export interface EvaluatedFlag extends Evaluation {
  name: string;
  impressionData: boolean;
}

/** What evaluation may not find for itself: randomness, time and the host it runs on. */
export interface EvaluationEnv {
  /** Uniform in [0, 1); feeds `random` stickiness and gradualRolloutRandom. */
  random: () => number;
  /** Epoch milliseconds; DATE_* constraints use it when the context has no `currentTime`. */
  now: () => number;
  /** Matched by applicationHostname; without it that strategy never matches. */
  hostname?: string;
}

export interface EvaluatorOptions extends EvaluationEnv {
  segments?: readonly UnleashSegment[];
}
