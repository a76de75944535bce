/**
 * Latency injection for the local servers (DynamoDB, S3): a request matching a rule is held for a while
 * before the server sees it — a slow backend, without any test flag in service code. Tests use it to
 * drive a handler past its timeout, or to stop a workflow while a task is mid-upload.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';

export interface LatencyRule {
  /** Which requests to hold (method, URL, headers such as X-Amz-Target). */
  match: (req: IncomingMessage) => boolean;
  delayMs: number;
  /** Hold only this many matching requests, then drop the rule. @default every one */
  times?: number;
}

export interface Latency {
  delay(rule: LatencyRule): void;
  clear(): void;
}

/** Puts a latency-injection front in place before the server's own request listeners. */
export function installLatency(server: Server): Latency {
  const listeners = server.listeners('request') as ((req: IncomingMessage, res: ServerResponse) => void)[];
  server.removeAllListeners('request');
  let rules: LatencyRule[] = [];
  const dispatch = (req: IncomingMessage, res: ServerResponse) => {
    for (const listener of listeners) listener.call(server, req, res);
  };
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const rule = rules.find((r) => r.match(req));
    if (!rule) return dispatch(req, res);
    if (rule.times !== undefined && --rule.times <= 0) rules = rules.filter((r) => r !== rule);
    setTimeout(() => dispatch(req, res), rule.delayMs);
  });
  return {
    delay: (rule) => void rules.push({ ...rule }),
    clear: () => {
      rules = [];
    },
  };
}
