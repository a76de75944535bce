/**
 * Adds fault rules to the local stack's S3 (local/faults.ts) without touching other test files' rules;
 * returns the function that removes them again.
 */
import { FAULTS_PATH, type FaultRule } from '../../local/faults';
import { stack } from './local-stack';

export async function armS3Fault(...rules: FaultRule[]): Promise<() => Promise<void>> {
  const endpoint = stack.env.AWS_ENDPOINT_URL_S3;
  const res = await fetch(`${endpoint}${FAULTS_PATH}`, { method: 'POST', body: JSON.stringify(rules), headers: { 'content-type': 'application/json' } });
  if (res.status !== 200) throw new Error(`arming S3 faults: ${res.status} ${await res.text()}`);
  const added = (await res.json()) as { id: string }[];
  return async () => {
    for (const { id } of added) await fetch(`${endpoint}${FAULTS_PATH}/${id}`, { method: 'DELETE' });
  };
}
