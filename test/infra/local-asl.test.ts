/**
 * lib/local-asl: the synthesized build workflow, resolved to plain ASL, must be accepted and run by
 * aws-local-stepfunctions (the engine the local stack uses), with Task states mapped by name.
 * The Promise.withResolvers polyfill comes from the jest setup file.
 */
import fs, { existsSync } from 'node:fs';
import { ExecutionError, StateMachine } from 'aws-local-stepfunctions';
import { BUILD_TASKS } from '../../lambdas/routes';
import { TransientStorageError } from '../../lambdas/workflow/errors';
import { type LocalDefinition, synthesizeLocalDefinition } from '../../lib/local-asl';
import { unwrapTask } from '../../lambdas/workflow/attempt';
import { installStateContext } from '../../local/sfn-state-context';

// the context object's `$$.State` (RetryCount…), which the build tasks' payloads read, as local/sfn.ts does
installStateContext();

type Json = Record<string, any>;
type Handlers = Record<string, (input: Json) => unknown>;

// Prepare (once for the file): note the temp folders synthesis makes (other test files synthesize
// concurrently, so only this file's own folders are checked).
const made: string[] = [];
const realMkdtemp = fs.mkdtempSync;
const mkdtemp = jest.spyOn(fs, 'mkdtempSync').mockImplementation(((prefix: string, options?: unknown) => {
  const dir = realMkdtemp(prefix, options as never) as string;
  made.push(dir);
  return dir;
}) as typeof fs.mkdtempSync);
const local: LocalDefinition = synthesizeLocalDefinition();
mkdtemp.mockRestore();

const input = {
  jobId: 'job-1',
  imageId: 'image-1',
  source: { type: 'machine', machineId: 'm-1' },
  target: { format: 'raw', compression: 'gzip' },
};

/** Runs the definition with every Task mapped to a local function; records each task's input. */
const run = async (overrides: Handlers, runInput: Json = input) => {
  const calls: Record<string, Json[]> = {};
  const handlers = Object.fromEntries(
    BUILD_TASKS.map((state) => [
      state,
      async (payload: unknown) => {
        // a task's payload is its state document plus its attempt (lambdas/workflow/attempt.ts)
        const taskInput = unwrapTask(payload).state;
        calls[state] ??= [];
        calls[state].push(taskInput as Json);
        const fallback = state === 'PrepareSource' ? () => ({ size: 1 }) : () => ({});
        return ((overrides[state] ?? fallback) as (i: Json) => unknown)(taskInput as Json);
      },
    ]),
  );
  const machine = new StateMachine(local.definition as never);
  const retryIntervalOverrides = Object.fromEntries(BUILD_TASKS.map((state) => [state, 0]));
  const execution = machine.run(runInput, { overrides: { taskResourceLocalHandlers: handlers as never, retryIntervalOverrides } });
  const result = await execution.result.then(
    (output) => ({ ok: true as const, output: output as Json }),
    (error: unknown) => ({ ok: false as const, error: error as Error & { cause?: unknown } }),
  );
  return { result, calls };
};

describe('synthesizeLocalDefinition', () => {
  it('resolves the state machine to plain JSON with fake Lambda ARNs and lists its Task states', () => {
    // Assess
    expect(local.stateMachineLogicalId).toMatch(/^BuildWorkflowStateMachine/);
    expect([...local.taskStates].sort()).toEqual([...BUILD_TASKS].sort());
    expect(JSON.stringify(local.definition)).not.toMatch(/Fn::|"Ref"/);
    const ranges = local.definition.States.BuildRanges as Json;
    const states = { ...local.definition.States, ...ranges.ItemProcessor.States } as Record<string, Json>;
    for (const state of local.taskStates) {
      expect(states[state].Resource).toMatch(/^arn:aws:lambda:us-east-1:000000000000:function:BuildWorkflow\w+$/);
    }
  });

  it('leaves no synthesis output behind', () => {
    expect(made.length).toBeGreaterThan(0);
    expect(made.filter((dir) => existsSync(dir))).toEqual([]);
  });

  it('is accepted by aws-local-stepfunctions with full validation', () => {
    expect(() => new StateMachine(local.definition as never)).not.toThrow();
  });
});

describe('the build workflow, run locally', () => {
  it('succeeds through PrepareSource → BuildImageFile → Finalize, each seeing the state so far', async () => {
    // Act
    const { result, calls } = await run({
      PrepareSource: () => ({ size: 1024 }),
      BuildImageFile: () => ({ size: 512, sha1: 'a', sha256: 'b', compression: 'gzip' }),
      Finalize: () => ({ ignored: true }),
    });

    // Assess
    expect(result).toEqual({
      ok: true,
      output: { ...input, prepared: { size: 1024 }, file: { size: 512, sha1: 'a', sha256: 'b', compression: 'gzip' } },
    });
    expect(calls.BuildImageFile[0]).toEqual({ ...input, prepared: { size: 1024 } });
    expect(calls.Cleanup).toBeUndefined();
    expect(calls.MarkFailed).toBeUndefined();
  });

  it('takes the chunked path at the threshold: ranges in the Map, then the hash loop until done, then Finalize with the hashed file', async () => {
    // Prepare
    const threshold = 1024 ** 3; // DEFAULT_CHUNKING.thresholdBytes
    let hashCalls = 0;
    // Act
    const { result, calls } = await run({
      PrepareSource: () => ({ size: threshold, etag: '"e"' }),
      StartRanges: () => ({
        key: 'k',
        uploadId: 'u',
        rangeBytes: threshold / 4,
        ranges: 4,
        items: [0, 1, 2, 3],
        output: { format: 'raw' },
        correlationId: 'corr-1',
      }),
      BuildRange: (i) => ({ index: i.index, bytes: 7, skipped: false }),
      AssembleFile: () => ({ size: 100, etag: '"f"', parts: 4 }),
      HashFile: (i) => {
        hashCalls += 1;
        const offset = (i.hash?.offset ?? 0) + 40;
        return offset >= 100
          ? { offset: 100, done: true, invocations: hashCalls, file: { size: 100, sha1: 'a', sha256: 'b' } }
          : { offset, done: false, invocations: hashCalls };
      },
    });
    // Assess
    expect(result.ok ? 'ok' : String((result.error as Error & { cause?: Error }).cause?.message ?? result.error)).toBe('ok');
    expect(calls.BuildImageFile).toBeUndefined();
    expect(calls.BuildRange.map((c) => c.index).sort()).toEqual([0, 1, 2, 3]);
    expect(calls.BuildRange[0]).toEqual({
      imageId: 'image-1',
      jobId: 'job-1',
      index: expect.any(Number),
      source: input.source,
      prepared: { size: threshold, etag: '"e"' },
      size: threshold,
      compression: 'gzip',
      upload: { key: 'k', uploadId: 'u', rangeBytes: threshold / 4, ranges: 4, output: { format: 'raw' } },
      correlationId: 'corr-1',
    });
    expect(calls.HashFile.map((c) => c.hash?.offset ?? 0)).toEqual([0, 40, 80]);
    expect(calls.HashFile[0].chunking).toEqual({ rangeBytes: 256 * 1024 ** 2, hashBytesPerInvocation: 32 * 1024 ** 3 });
    expect(calls.Finalize[0].file).toEqual({ size: 100, sha1: 'a', sha256: 'b' });
  });

  it.each([
    [{ format: 'qcow2', compressed: true }, 'StartRanges'],
    [{ format: 'vhd', subformat: 'fixed' }, 'StartRanges'],
    [{ format: 'raw' }, 'StartRanges'],
    [{ format: 'vmdk' }, 'StartRanges'],
    [{ format: 'vmdk', subformat: 'streamOptimized' }, 'StartRanges'],
    [{ format: 'vmdk', subformat: 'monolithicSparse' }, 'StartRanges'],
    [{ format: 'ova' }, 'StartRanges'],
  ])('at the threshold sends an output of %j to %s (ranges write raw, qcow2, vhd, vmdk and an uncompressed ova)', async (output, first) => {
    const threshold = 1024 ** 3;
    const { calls } = await run(
      {
        PrepareSource: () => ({ size: threshold }),
        StartRanges: () => ({ key: 'k', uploadId: 'u', rangeBytes: threshold, ranges: 1, items: [0], output, correlationId: null }),
        HashFile: () => ({ offset: 1, done: true, invocations: 1, file: { size: 1 } }),
        ComposeOva: () => ({ done: true }),
      },
      { ...input, target: { format: output.format, output, compression: 'none' } },
    );
    const other = first === 'StartRanges' ? 'BuildImageFile' : 'StartRanges';
    expect(calls[first]).toHaveLength(1);
    expect(calls[other]).toBeUndefined();
    if (first === 'StartRanges') expect(calls.BuildRange[0].upload).toMatchObject({ output });
  });

  it('sends a gzipped ova to BuildImageFile at the threshold (its manifest needs the uncompressed vmdk hashed)', async () => {
    const output = { format: 'ova' };
    const { calls } = await run(
      { PrepareSource: () => ({ size: 1024 ** 3 }) },
      { ...input, target: { format: 'ova', output, compression: 'gzip' } },
    );
    expect(calls.BuildImageFile).toHaveLength(1);
    expect(calls.StartRanges).toBeUndefined();
  });

  it('an ova by ranges: hashes the vmdk, loops ComposeOva until done, hashes the ova from byte 0, finalizes the ova', async () => {
    // Prepare
    const threshold = 1024 ** 3;
    const output = { format: 'ova' };
    const order: string[] = [];
    const hashOf = (object: string, size: number) => (i: Json) => {
      const offset = (i.hash?.done ? 0 : (i.hash?.offset ?? 0)) + 40;
      return offset >= size
        ? { offset: size, done: true, invocations: 1, file: { size, sha1: `${object}-1`, sha256: `${object}-256`, format: 'ova' } }
        : { offset, done: false, invocations: 1 };
    };
    // Act
    const { result, calls } = await run(
      {
        PrepareSource: () => ({ size: threshold }),
        StartRanges: () => ({ key: 'vmdk', uploadId: 'u', rangeBytes: threshold, ranges: 1, items: [0], output, correlationId: null }),
        BuildRange: () => ({ index: 0, bytes: 7, skipped: false }),
        AssembleFile: () => ({ size: 100, etag: '"v"', parts: 1 }),
        HashFile: (i) => {
          order.push(`HashFile ${i.composed ? 'ova' : 'vmdk'} ${i.hash?.done ? 0 : (i.hash?.offset ?? 0)}`);
          return i.composed ? hashOf('ova', 60)(i) : hashOf('vmdk', 100)(i);
        },
        ComposeOva: (i) => {
          order.push(`ComposeOva ${i.composed?.written ?? 0}`);
          return i.composed
            ? { done: true, key: 'ova', size: 60, etag: '"o"', parts: 3, written: 3, vmdkSha256: i.hash.file.sha256 }
            : { done: false, key: 'ova', parts: 3, written: 2, vmdkSha256: i.hash.file.sha256 };
        },
      },
      { ...input, target: { format: 'ova', output, compression: 'none' } },
    );
    // Assess
    expect(result.ok ? 'ok' : String(result.error)).toBe('ok');
    expect(order).toEqual([
      'HashFile vmdk 0',
      'HashFile vmdk 40',
      'HashFile vmdk 80',
      'ComposeOva 0',
      'ComposeOva 2',
      'HashFile ova 0',
      'HashFile ova 40',
    ]);
    expect(calls.ComposeOva[0].hash.file.sha256).toBe('vmdk-256');
    expect(calls.Finalize[0].file).toMatchObject({ size: 60, sha256: 'ova-256' });
    expect(calls.BuildImageFile).toBeUndefined();
  });

  it('retries a transient storage error, then carries on', async () => {
    // Prepare
    let attempts = 0;

    // Act
    const { result, calls } = await run({
      BuildImageFile: () => {
        attempts += 1;
        if (attempts < 3) throw new TransientStorageError('slow down');
        return { size: 1 };
      },
    });

    // Assess
    expect(result.ok).toBe(true);
    expect(calls.BuildImageFile).toHaveLength(3);
    expect(calls.Cleanup).toBeUndefined();
  });

  it('on a non-retryable error runs Cleanup with the error, then MarkFailed, and fails the execution', async () => {
    // Prepare
    const failure = Object.assign(new Error('disk is gone'), { name: 'SourceUnavailableError' });

    // Act
    const { result, calls } = await run({
      PrepareSource: () => ({ size: 1 }),
      BuildImageFile: () => {
        throw failure;
      },
      Cleanup: () => ({ deletedObjects: 1, abortedUploads: 1 }),
    });

    // Assess
    expect(result.ok).toBe(false);
    expect(!result.ok && result.error).toBeInstanceOf(ExecutionError);
    expect(!result.ok && (result.error.cause as Error).name).toBe('BuildFailed');
    expect(calls.BuildImageFile).toHaveLength(1);
    expect(calls.Finalize).toBeUndefined();
    expect(calls.Cleanup).toEqual([expect.objectContaining({ error: expect.objectContaining({ Error: 'SourceUnavailableError' }) })]);
    expect(calls.MarkFailed).toEqual([
      expect.objectContaining({
        error: expect.objectContaining({ Error: 'SourceUnavailableError' }),
        cleanup: { deletedObjects: 1, abortedUploads: 1 },
      }),
    ]);
  });

  it('still marks the job failed when Cleanup itself fails', async () => {
    // Act
    const { result, calls } = await run({
      PrepareSource: () => {
        throw Object.assign(new Error('no such machine'), { name: 'SourceUnavailableError' });
      },
      Cleanup: () => {
        throw Object.assign(new Error('access denied'), { name: 'AccessDenied' });
      },
    });

    // Assess
    expect(result.ok).toBe(false);
    expect(calls.Cleanup).toHaveLength(1);
    expect(calls.MarkFailed).toEqual([
      expect.objectContaining({
        error: expect.objectContaining({ Error: 'SourceUnavailableError' }),
        cleanupError: expect.objectContaining({ Error: 'AccessDenied' }),
      }),
    ]);
  });
});
