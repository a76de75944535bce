/**
 * The context object's `State` member (`$$.State`) for aws-local-stepfunctions, which builds `$$` with
 * `Execution`, `StateMachine` and (in a Map) `Map` only. Step Functions gives every state:
 *
 *   $$.State.Name         the state's name
 *   $$.State.EnteredTime  when the state was entered (ISO 8601); a retry does not enter it again
 *   $$.State.RetryCount   0 on the first attempt, then the number of retries so far (all retriers together)
 *
 * The engine evaluates a state's Parameters against one context object per execution (and one per Map
 * iteration or Parallel branch, each its own run). `installStateContext` wraps the engine's run loop
 * (`StateMachine.prototype.execute`) so that each run puts a `State` object of its own in that context
 * and keeps it current from the run's own event dispatches, which the engine makes synchronously:
 * `StateEntered` (a new state: name, time, RetryCount 0) before the state runs, `StateRetried`
 * (RetryCount + 1) before each new attempt. Nested runs (Map, Parallel) get their own `State`.
 * Nothing else of the engine changes.
 */
import { StateMachine } from 'aws-local-stepfunctions';

/** `$$.State`, as Step Functions gives it. */
export interface StateContext {
  Name: string;
  EnteredTime: string;
  RetryCount: number;
}

interface EventLogger {
  dispatchStateEnteredEvent(stateName: string, ...rest: unknown[]): void;
  dispatchStateRetriedEvent(...args: unknown[]): void;
}

interface ExecuteOptions {
  runOptions?: { context?: Record<string, unknown>; [option: string]: unknown };
  eventLogger: EventLogger;
  [option: string]: unknown;
}

type Execute = (this: StateMachine, input: unknown, options: ExecuteOptions, cleanup: () => void) => Promise<unknown>;

const INSTALLED = Symbol.for('machine-image-service.local-sfn.state-context');

/** Idempotent: the engine's prototype is wrapped once per process. */
export function installStateContext(): void {
  const proto = StateMachine.prototype as unknown as { execute: Execute; [INSTALLED]?: true };
  if (proto[INSTALLED]) return;
  const execute = proto.execute;
  if (typeof execute !== 'function') throw new Error('aws-local-stepfunctions changed: StateMachine.prototype.execute is gone');
  proto.execute = function (this: StateMachine, input, options, cleanup) {
    const state: StateContext = { Name: '', EnteredTime: '', RetryCount: 0 };
    const logger = options.eventLogger;
    const entered = logger.dispatchStateEnteredEvent;
    const retried = logger.dispatchStateRetriedEvent;
    logger.dispatchStateEnteredEvent = function (this: EventLogger, stateName, ...rest) {
      state.Name = stateName;
      state.EnteredTime = new Date().toISOString();
      state.RetryCount = 0;
      return entered.call(this, stateName, ...rest);
    };
    logger.dispatchStateRetriedEvent = function (this: EventLogger, ...args) {
      state.RetryCount += 1;
      return retried.apply(this, args);
    };
    // The engine spreads runOptions.context into the run's context object: `State` goes in by reference.
    const runOptions = { ...options.runOptions, context: { ...options.runOptions?.context, State: state } };
    return execute.call(this, input, { ...options, runOptions }, cleanup);
  };
  proto[INSTALLED] = true;
}
