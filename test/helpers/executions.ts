/**
 * The final state document of a workflow execution on the local stack. A job or image reaches its end
 * state in the execution's last Task (Finalize, MarkMachineRunning, …), a moment before the execution
 * itself ends and has an output: this waits for the end instead of reading a RUNNING execution's
 * missing output as `{}`.
 */
import { DescribeExecutionCommand, type DescribeExecutionCommandOutput, ListExecutionsCommand, type SFNClient } from '@aws-sdk/client-sfn';
import { poll } from './local-stack';

/** The output of the execution of `stateMachineArn` whose input matches, once it has ended. */
export async function finishedExecutionOutput(
  sfn: SFNClient,
  stateMachineArn: string,
  matches: (input: Record<string, any>) => boolean,
): Promise<Record<string, any>> {
  const list = await sfn.send(new ListExecutionsCommand({ stateMachineArn, maxResults: 1000 }));
  let found: DescribeExecutionCommandOutput | undefined;
  for (const e of list.executions ?? []) {
    const d = await sfn.send(new DescribeExecutionCommand({ executionArn: e.executionArn }));
    if (matches(JSON.parse(d.input ?? '{}'))) {
      found = d;
      break;
    }
  }
  if (!found) throw new Error(`no execution of ${stateMachineArn} matches`);
  const ended = await poll(
    () => sfn.send(new DescribeExecutionCommand({ executionArn: found.executionArn })),
    (d) => d.status !== 'RUNNING',
    { intervalMs: 100, attempts: 600 },
  );
  return JSON.parse(ended.output ?? 'null') ?? {};
}
