/**
 * The workflows' ASL (build, provisioning) exactly as CDK synthesizes it, made runnable locally: the stack is
 * synthesized in-process with bundling skipped (no esbuild runs, nothing written to the repo's
 * cdk.out), and the state machine's `DefinitionString` intrinsics are resolved into plain JSON with
 * fake but well-formed ARNs. The local stack runs it in aws-local-stepfunctions and maps each Task
 * state, by name, to its handler in `lambdas/workflow/tasks/` (see `taskEntry`).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { App } from 'aws-cdk-lib';
import { ImageServiceStack } from './image-service-stack';
import type { ChunkingSettings } from '../lambdas/workflow/chunked';
import { cdkContext } from './cdk-context';

export interface LocalAslOptions {
  /** @default 'us-east-1' */
  region?: string;
  /** @default '000000000000' */
  accountId?: string;
  /** ARNs to use for given logical ids (e.g. the local state machines' own ARNs) instead of fake ones. */
  arns?: Record<string, string>;
  /** Stack setting for chunked builds (tests scale the threshold and range size down). */
  chunking?: Partial<ChunkingSettings>;
  /**
   * Which workflow: the id of its construct in the stack, whose state machine's logical id starts
   * with `<workflow>StateMachine`. @default 'BuildWorkflow'
   */
  workflow?: string;
}

export interface LocalDefinition {
  /** Plain ASL (JSONPath), Task Resources resolved to `arn:aws:lambda:<region>:<account>:function:<LogicalId>`. */
  definition: AslDefinition;
  /** Logical id of the AWS::StepFunctions::StateMachine resource in the synthesized template. */
  stateMachineLogicalId: string;
  /** Names of every Task state, nested ones (Parallel, Map) included, in definition order. */
  taskStates: string[];
}

export interface AslDefinition {
  StartAt: string;
  States: Record<string, AslState>;
  TimeoutSeconds?: number;
  Comment?: string;
  [field: string]: unknown;
}

export interface AslState {
  Type: string;
  [field: string]: unknown;
}

/** The part of a CloudFormation template this module reads. */
export interface CfnTemplate {
  Resources?: Record<string, { Type: string; Properties?: Record<string, unknown>; Metadata?: Record<string, unknown> }>;
}

const STATE_MACHINE_TYPE = 'AWS::StepFunctions::StateMachine';
const DEFAULT_WORKFLOW = 'BuildWorkflow';

/** Synthesizes the service stack (bundling skipped, temp outdir) and returns one workflow (default: the build) as plain ASL. */
export function synthesizeLocalDefinition(options: LocalAslOptions = {}): LocalDefinition {
  return localDefinitionFromTemplate(synthesizeTemplate(options), options);
}

/**
 * The service stack's CloudFormation template, synthesized in-process with bundling skipped and a
 * temporary outdir. The local stack reads everything it mirrors from this one template: the ASL
 * (here) and the functions' limits and event rules (lib/local-template.ts).
 */
export function synthesizeTemplate(options: Pick<LocalAslOptions, 'chunking'> = {}): CfnTemplate {
  const outdir = mkdtempSync(path.join(tmpdir(), 'image-service-asl-'));
  try {
    const app = new App({
      outdir,
      // cdk.json's feature flags, and an empty list of stacks to bundle: NodejsFunction assets are not built.
      context: cdkContext({ 'aws:cdk:bundling-stacks': [] }),
      analyticsReporting: false,
      // The CloudFormation schema check (a WASM engine) is most of the synth time; cdk synth and the
      // infra tests run it, the local stack needs only the definition.
      builtinCloudFormationValidation: false,
    });
    const stack = new ImageServiceStack(app, 'ImageServiceLocal', { chunking: options.chunking });
    return app.synth().getStackArtifact(stack.artifactId).template as CfnTemplate;
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

/** The same, from an already synthesized template (e.g. `Template.fromStack(stack).toJSON()` in tests). */
export function localDefinitionFromTemplate(template: CfnTemplate, options: LocalAslOptions = {}): LocalDefinition {
  const resources = template.Resources ?? {};
  const prefix = `${options.workflow ?? DEFAULT_WORKFLOW}StateMachine`;
  const machines = Object.entries(resources).filter(([id, resource]) => resource.Type === STATE_MACHINE_TYPE && id.startsWith(prefix));
  if (machines.length !== 1) throw new Error(`expected one ${STATE_MACHINE_TYPE} named ${prefix}…, found ${machines.length}`);
  const [stateMachineLogicalId, machine] = machines[0];

  const definitionString = resolveIntrinsics(machine.Properties?.DefinitionString, template, options);
  if (typeof definitionString !== 'string') throw new Error(`${stateMachineLogicalId}: DefinitionString is not a string`);
  const definition = JSON.parse(definitionString) as AslDefinition;
  return { definition, stateMachineLogicalId, taskStates: taskStatesOf(definition) };
}

/**
 * Resolves the intrinsics CDK puts in a definition: Fn::Join, Fn::Sub, Fn::GetAtt (→ a fake ARN that
 * ends in the logical id) and Ref (pseudo parameters, or a resource's logical id).
 */
export function resolveIntrinsics(value: unknown, template: CfnTemplate, options: LocalAslOptions = {}): unknown {
  const region = options.region ?? 'us-east-1';
  const account = options.accountId ?? '000000000000';
  const resources = template.Resources ?? {};
  const pseudo: Record<string, string> = {
    'AWS::Partition': 'aws',
    'AWS::Region': region,
    'AWS::AccountId': account,
    'AWS::URLSuffix': 'amazonaws.com',
    'AWS::StackName': 'local',
  };

  const arnOf = (logicalId: string): string => {
    if (options.arns?.[logicalId]) return options.arns[logicalId];
    const type = resources[logicalId]?.Type;
    if (!type) throw new Error(`unknown resource in definition: ${logicalId}`);
    const service = type.split('::')[1].toLowerCase();
    return service === 'lambda'
      ? `arn:aws:lambda:${region}:${account}:function:${logicalId}`
      : `arn:aws:${service}:${region}:${account}:${logicalId}`;
  };
  const ref = (name: string): string => pseudo[name] ?? options.arns?.[name] ?? (resources[name] ? name : fail(`unknown Ref: ${name}`));
  const getAtt = (logicalId: string, attribute: string): string =>
    attribute === 'Arn' ? arnOf(logicalId) : fail(`unsupported Fn::GetAtt attribute: ${logicalId}.${attribute}`);

  const resolve = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(resolve);
    if (v === null || typeof v !== 'object') return v;
    const entries = Object.entries(v);
    if (entries.length === 1) {
      const [fn, arg] = entries[0];
      switch (fn) {
        case 'Fn::Join': {
          const [separator, parts] = arg as [string, unknown[]];
          return (resolve(parts) as unknown[]).map(String).join(separator);
        }
        case 'Fn::GetAtt': {
          const [logicalId, attribute] = typeof arg === 'string' ? arg.split('.') : (arg as [string, string]);
          return getAtt(logicalId, attribute);
        }
        case 'Ref':
          return ref(arg as string);
        case 'Fn::Sub': {
          const [text, vars] = typeof arg === 'string' ? [arg, {}] : (arg as [string, Record<string, unknown>]);
          return text.replace(/\$\{([^}!]+)\}/g, (_, name: string) => {
            if (name in vars) return String(resolve(vars[name]));
            const [id, attribute] = name.split('.');
            return attribute ? getAtt(id, attribute) : ref(id);
          });
        }
      }
    }
    return Object.fromEntries(entries.map(([k, x]) => [k, resolve(x)]));
  };
  return resolve(value);
}

function taskStatesOf(definition: { States: Record<string, AslState> }): string[] {
  return Object.entries(definition.States).flatMap(([name, state]) => {
    const nested = [
      ...((state.Branches as { States: Record<string, AslState> }[] | undefined) ?? []),
      ...[state.ItemProcessor, state.Iterator].filter(Boolean),
    ] as { States: Record<string, AslState> }[];
    return [...(state.Type === 'Task' ? [name] : []), ...nested.flatMap(taskStatesOf)];
  });
}

function fail(message: string): never {
  throw new Error(message);
}
