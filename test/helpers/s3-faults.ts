/**
 * Adds fault rules to the local stack's S3 (local/faults.ts) without touching other test files' rules.
 * Returns the function that removes them again; its `seen()` tells how many requests matched them
 * (a rule with `times: 0` fails nothing and only counts).
 */
import { FAULTS_PATH, type FaultRule } from '../../local/faults';
import { stack } from './local-stack';

export type Disarm = (() => Promise<void>) & { seen(): Promise<number> };

export async function armS3Fault(...rules: FaultRule[]): Promise<Disarm> {
  const endpoint = stack.env.AWS_ENDPOINT_URL_S3;
  const res = await fetch(`${endpoint}${FAULTS_PATH}`, {
    method: 'POST',
    body: JSON.stringify(rules),
    headers: { 'content-type': 'application/json' },
  });
  if (res.status !== 200) throw new Error(`arming S3 faults: ${res.status} ${await res.text()}`);
  const ids = new Set(((await res.json()) as { id: string }[]).map((r) => r.id));
  const disarm = async () => {
    for (const id of ids) await fetch(`${endpoint}${FAULTS_PATH}/${id}`, { method: 'DELETE' });
  };
  const seen = async () => {
    const all = (await (await fetch(`${endpoint}${FAULTS_PATH}`)).json()) as { id: string; seen: number }[];
    return all.filter((r) => ids.has(r.id)).reduce((n, r) => n + r.seen, 0);
  };
  return Object.assign(disarm, { seen });
}
