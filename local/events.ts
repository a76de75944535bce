/**
 * Local EventBridge, just enough of it for the rules the template declares on Step Functions' status
 * events: events put here are matched against each rule's EventPattern and delivered to the rule's
 * Lambda targets as EventBridge delivers them — an asynchronous invocation (the caller never waits),
 * through the local Lambda runtime (local/lambda.ts, so the target's timeout applies), with Lambda's
 * two retries of an asynchronous invocation that failed. What still fails after them is logged (the
 * deployed stack sends it to the rule's dead-letter queue).
 *
 * Patterns: exact values (an array of alternatives), nested objects, and the content filters
 * `prefix`, `anything-but` and `exists`. A pattern using another filter matches nothing, loudly.
 */
import { invokeLocal, type LocalFunction } from './lambda';

export interface LocalRule {
  name: string;
  pattern: Record<string, unknown>;
  targets: LocalFunction[];
}

export interface LocalEventsOptions {
  rules: LocalRule[];
  /** Wait before each of the two retries of a failed delivery, in ms. @default 200 */
  retryDelayMs?: number;
  /** Called with each delivery that failed for good. @default console.error */
  onDeliveryFailed?: (rule: string, target: string, error: unknown) => void;
}

export interface LocalEvents {
  /** Matches the event against every rule and starts its deliveries; returns the names of the rules that matched. */
  put(event: Record<string, unknown>): string[];
  /** Resolves when no delivery is in flight. */
  waitForIdle(): Promise<void>;
  isIdle(): boolean;
}

const ASYNC_INVOKE_RETRIES = 2;

function matchesValue(filter: unknown, value: unknown, present: boolean): boolean {
  if (filter !== null && typeof filter === 'object') {
    const [[kind, arg], ...rest] = Object.entries(filter);
    if (rest.length) return unsupported(filter);
    switch (kind) {
      case 'prefix':
        return typeof value === 'string' && value.startsWith(String(arg));
      case 'anything-but':
        return present && !(Array.isArray(arg) ? arg : [arg]).includes(value as never);
      case 'exists':
        return arg === present;
      default:
        return unsupported(filter);
    }
  }
  return present && filter === value;
}

function unsupported(filter: unknown): false {
  console.error(`local EventBridge: unsupported pattern filter ${JSON.stringify(filter)}; the rule matches nothing`);
  return false;
}

/** Whether an event matches an EventBridge pattern (the subset described above). */
export function matchesPattern(pattern: Record<string, unknown>, event: Record<string, unknown> | undefined): boolean {
  return Object.entries(pattern).every(([key, filter]) => {
    const present = event !== undefined && key in event && event[key] !== undefined;
    const value = event?.[key];
    if (Array.isArray(filter)) {
      const values = Array.isArray(value) ? value : [value];
      return filter.some((f) => values.some((v) => matchesValue(f, v, present)));
    }
    if (filter !== null && typeof filter === 'object') {
      return (
        value !== null && typeof value === 'object' && matchesPattern(filter as Record<string, unknown>, value as Record<string, unknown>)
      );
    }
    return false;
  });
}

export function startLocalEvents(options: LocalEventsOptions): LocalEvents {
  const retryDelayMs = options.retryDelayMs ?? 200;
  const onFailed =
    options.onDeliveryFailed ?? ((rule, target, err) => console.error(`local EventBridge: ${rule} → ${target} failed after retries:`, err));
  const inFlight = new Set<Promise<void>>();

  async function deliver(rule: LocalRule, target: LocalFunction, event: Record<string, unknown>): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await invokeLocal(target, event);
        return;
      } catch (err) {
        if (attempt >= ASYNC_INVOKE_RETRIES) return onFailed(rule.name, target.name, err);
        await new Promise((r) => setTimeout(r, retryDelayMs));
      }
    }
  }

  return {
    put(event) {
      const matched = options.rules.filter((rule) => matchesPattern(rule.pattern, event));
      for (const rule of matched) {
        for (const target of rule.targets) {
          const delivery = deliver(rule, target, event).finally(() => inFlight.delete(delivery));
          inFlight.add(delivery);
        }
      }
      return matched.map((r) => r.name);
    },
    isIdle: () => inFlight.size === 0,
    async waitForIdle() {
      while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
    },
  };
}
