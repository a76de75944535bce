/** Sharing helpers for the security suites: a sharee accepts a pending share (docs/decisions/sharing-consent.md). */
import { api } from '../../helpers/local-stack';

export async function acceptShare(sharee: { login: string }, imageId: string): Promise<void> {
  const res = await api('POST', `/${sharee.login}/images/${imageId}?action=accept-share`, {});
  if (res.status !== 200) throw new Error(`accept-share answered ${res.status} ${JSON.stringify(res.body)}`);
}
