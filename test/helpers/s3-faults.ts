/** Arms a storage fault in the local stack's S3 (local/s3-faults.ts); returns the function that disarms it. */
import type { S3Fault } from '../../local/s3-faults';
import { FAULTS_PATH } from '../../local/s3-faults';
import { stack } from './local-stack';

export async function armS3Fault(fault: S3Fault): Promise<() => Promise<void>> {
  const endpoint = stack.env.AWS_ENDPOINT_URL_S3;
  const res = await fetch(`${endpoint}${FAULTS_PATH}`, { method: 'POST', body: JSON.stringify(fault), headers: { 'content-type': 'application/json' } });
  if (res.status !== 201) throw new Error(`arming an S3 fault: ${res.status} ${await res.text()}`);
  const { id } = (await res.json()) as { id: string };
  return async () => {
    await fetch(`${endpoint}${FAULTS_PATH}/${id}`, { method: 'DELETE' });
  };
}
