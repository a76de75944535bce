/**
 * The target of the execution-status rule (lib/constructs/execution-failures.ts): Step Functions'
 * "Step Functions Execution Status Change" event for an execution that FAILED, TIMED_OUT or was
 * ABORTED. An execution stopped or timed out never reaches the workflow's own Cleanup/MarkFailed
 * states, and neither does one that fails with a terminal error (States.DataLimitExceeded) or whose
 * MarkFailed failed for good; this handler ends such builds with the one failure use case
 * (`endFailedBuild`: the image's prefix emptied, open uploads aborted, image `failed`, job FAIL).
 * For builds the workflow already failed it changes nothing (the use case is idempotent).
 *
 * Provisioning executions (lib/constructs/provision-workflow.ts; `machineId` and `disk` in their
 * input) end the same way with their own idempotent steps: the disk removed, the machine `failed`.
 * An export the build workflow ran (lambdas/workflow/copy.ts; `copy.kind = "export"`, no `imageId`)
 * ends by removing its destination object and failing its job; a clone is a build here.
 * Executions of other workflows are left to their own handling.
 * Errors propagate: EventBridge invokes this asynchronously, and Lambda retries it.
 */
import type { EventBridgeEvent } from 'aws-lambda';
import { endFailedBuild } from '../core/use-cases/build-steps';
import type { ImageError } from '../core/image';
import { clock, imageRepository, jobRepository } from '../wiring';
import { removeImageObjects } from './tasks/cleanup';
import { describeFailure } from './tasks/mark-failed';
import { failProvisioning } from '../core/use-cases/provision-steps';
import { machineRepository } from '../wiring';
import { removeProvisionedDisk } from './tasks/remove-disk';
import { exportOf, exportSteps, removeExportedObject } from './copy';
import { correlationIdOfInput, countMetric, logger, observedTask } from '../observability/powertools';

export const ENDED_STATUSES = ['FAILED', 'TIMED_OUT', 'ABORTED'] as const;
type EndedStatus = (typeof ENDED_STATUSES)[number];

export interface ExecutionStatusDetail {
  executionArn: string;
  stateMachineArn: string;
  status: string;
  input?: string | null;
  error?: string | null;
  cause?: string | null;
}

export type ExecutionStatusEvent = EventBridgeEvent<'Step Functions Execution Status Change', ExecutionStatusDetail>;

/** The reason recorded on the image and the job, from how the execution ended. */
export function failureOf(detail: Pick<ExecutionStatusDetail, 'status' | 'error' | 'cause'>): ImageError {
  const status = detail.status as EndedStatus;
  if (status === 'TIMED_OUT') return { code: 'Timeout', message: 'the build did not finish within the time the workflow allows' };
  if (status === 'ABORTED' && !detail.error) return { code: 'Aborted', message: 'the build was stopped before it finished' };
  return describeFailure({ Error: detail.error ?? 'States.Runtime', Cause: detail.cause ?? undefined });
}

function buildOf(input: string | null | undefined): { jobId: string; imageId: string } | undefined {
  try {
    const parsed = JSON.parse(input ?? 'null') as { jobId?: unknown; imageId?: unknown } | null;
    if (typeof parsed?.jobId === 'string' && typeof parsed.imageId === 'string') return { jobId: parsed.jobId, imageId: parsed.imageId };
  } catch {
    // not a build's input
  }
  return undefined;
}

function provisionOf(input: string | null | undefined): { machineId: string; diskKey: string } | undefined {
  try {
    const parsed = JSON.parse(input ?? 'null') as { machineId?: unknown; disk?: { key?: unknown } } | null;
    if (typeof parsed?.machineId === 'string' && typeof parsed.disk?.key === 'string')
      return { machineId: parsed.machineId, diskKey: parsed.disk.key };
  } catch {
    // not a provisioning input
  }
  return undefined;
}

/** Ends a provisioning whose execution ended outside its Catch path; a machine no longer `provisioning` is left alone. */
async function endFailedProvisioning(machineId: string, diskKey: string, detail: ExecutionStatusDetail): Promise<'ended' | 'finished'> {
  const machine = await machineRepository().get(machineId);
  if (machine?.state !== 'provisioning') return 'finished';
  await removeProvisionedDisk(diskKey);
  const failure = failureOf(detail);
  await failProvisioning({ machines: machineRepository(), clock })(machineId, {
    ...failure,
    message: failure.message.replace('the build', 'provisioning'),
  });
  return 'ended';
}

/** The correlation id the ended execution's input carries (lambdas/observability/correlation.ts). */
function correlationIdOf(event: ExecutionStatusEvent): string | undefined {
  try {
    return correlationIdOfInput(JSON.parse(event.detail?.input ?? 'null'));
  } catch {
    return undefined;
  }
}

export const handler = observedTask(
  'ExecutionEnded',
  async (event: ExecutionStatusEvent): Promise<{ executionArn: string; outcome: 'ended' | 'finished' | 'ignored' }> => {
    const result = await endExecution(event);
    logger.info('execution ended', { execution_arn: result.executionArn, status: event.detail.status, outcome: result.outcome });
    return result;
  },
  { correlationId: correlationIdOf, keys: (event) => ({ execution_arn: event.detail?.executionArn }) },
);

async function endExecution(event: ExecutionStatusEvent): Promise<{ executionArn: string; outcome: 'ended' | 'finished' | 'ignored' }> {
  const { detail } = event;
  if (!ENDED_STATUSES.includes(detail.status as EndedStatus)) return { executionArn: detail.executionArn, outcome: 'ignored' };
  const provision = provisionOf(detail.input);
  if (provision)
    return { executionArn: detail.executionArn, outcome: await endFailedProvisioning(provision.machineId, provision.diskKey, detail) };
  const exported = exportOf(detail.input);
  if (exported) {
    const job = await jobRepository().get(exported.jobId);
    if (job?.status === 'SUCCESS') return { executionArn: detail.executionArn, outcome: 'finished' };
    await removeExportedObject(exported.copy.toKey);
    await exportSteps.fail(exported.jobId, failureOf(detail));
    return { executionArn: detail.executionArn, outcome: 'ended' };
  }
  const build = buildOf(detail.input);
  if (!build) return { executionArn: detail.executionArn, outcome: 'ignored' };
  const end = endFailedBuild({ images: imageRepository(), jobs: jobRepository(), clock, removeImageFiles: removeImageObjects });
  const outcome = await end(build.jobId, build.imageId, failureOf(detail));
  if (outcome === 'ended') countMetric('ImagesFailed');
  return { executionArn: detail.executionArn, outcome };
}
