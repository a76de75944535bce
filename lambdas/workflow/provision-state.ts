/**
 * The provisioning workflow's state document (lib/constructs/provision-workflow.ts):
 *   ExpandImage (ResultPath $.expanded) → MarkMachineRunning (ResultPath null)
 *   either, on error: Catch (ResultPath $.error) → RemoveDisk (ResultPath $.cleanup) → MarkMachineFailed → Fail
 * Every task handler receives the whole document and returns only its own result.
 */
import type { ProvisionRequest } from '../core/ports';
import type { CaughtError } from './state';

export interface ProvisionState extends ProvisionRequest {
  expanded?: { size: number };
  error?: CaughtError;
  cleanup?: { removed: string };
  cleanupError?: CaughtError;
}
