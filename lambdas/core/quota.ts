/**
 * Per-account quotas (docs/decisions/quotas.md): how many images an account may hold (any state but
 * deleted) and how many may be building at once. Defaults below; a deployment may set others
 * through the environment (lambdas/wiring.ts `config.quotas`).
 */
import { ServiceError } from './errors';

export interface QuotaLimits {
  /** Images an account may hold, in any state but deleted. */
  images: number;
  /** Images an account may have building (`creating`) at the same time. */
  concurrentBuilds: number;
  /** Machines an account may hold, in any state but deleted. */
  machines: number;
  /** Machines an account may have provisioning at the same time. */
  concurrentProvisions: number;
}

export const DEFAULT_QUOTAS: QuotaLimits = { images: 100, concurrentBuilds: 4, machines: 100, concurrentProvisions: 4 };

export interface QuotaUsage {
  images: number;
  concurrentBuilds: number;
}

/** The account is at one of its limits; the request may succeed once something finishes or is deleted. */
export class QuotaExceededError extends ServiceError {
  readonly code = 'QuotaExceeded' as const;
}
