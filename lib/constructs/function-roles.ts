/**
 * Execution roles shared by functions that need exactly the same permissions (docs/decisions/stack-size.md).
 *
 * A NodejsFunction left to itself makes its own role and policy: two CloudFormation resources per
 * function, over a hundred for the route table alone. Here a function names a *role key* instead, and
 * every function with the same key runs under one role. The key must describe the grant set, never
 * a mere grouping: a grant made to any function of a key is made to all of them (that is what sharing a
 * role means), so two functions share a key only when they would be granted the same actions anyway.
 *
 * The roles carry no AWS managed policy: what AWSLambdaBasicExecutionRole would give (write to any
 * log group of the account) is replaced by CreateLogStream/PutLogEvents on the log groups of the
 * role's own functions (lib/constructs/service-function.ts grants them).
 */
import { Stack } from 'aws-cdk-lib';
import { type IRole, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { ILogGroup } from 'aws-cdk-lib/aws-logs';
import { Construct, type IConstruct } from 'constructs';
import { acknowledgeWildcards, XRAY_REASON } from '../nag';

const ID = 'FunctionRoles';

export class FunctionRoles extends Construct {
  /** The stack's one set of shared roles (created on first use, at the stack's root). */
  static of(scope: IConstruct): FunctionRoles {
    const stack = Stack.of(scope);
    return (stack.node.tryFindChild(ID) as FunctionRoles | undefined) ?? new FunctionRoles(stack, ID);
  }

  private readonly roles = new Map<string, Role>();
  private readonly logStatements = new Map<string, PolicyStatement>();

  /** The role for `key` (letters and digits: it becomes the role's construct id). */
  role(key: string, description?: string): IRole {
    if (!/^[A-Za-z][A-Za-z0-9]*$/.test(key)) throw new Error(`role key must be alphanumeric: ${key}`);
    let role = this.roles.get(key);
    if (!role) {
      role = new Role(this, key, {
        assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
        description: description ?? `machine-image-service functions: ${key}`,
      });
      this.roles.set(key, role);
      acknowledgeWildcards(role, ['Resource::*'], XRAY_REASON);
      // One statement listing every log group of the role's functions (one per function would
      // outgrow the role's inline policy size with the route table).
      const logs = new PolicyStatement({ actions: ['logs:CreateLogStream', 'logs:PutLogEvents'] });
      role.addToPrincipalPolicy(logs);
      this.logStatements.set(key, logs);
    }
    return role;
  }

  /** Lets the functions of `key` write to `logGroup` (their own). */
  allowLogs(key: string, logGroup: ILogGroup): void {
    this.role(key);
    this.logStatements.get(key)!.addResources(logGroup.logGroupArn);
  }

  /** Every role made so far, by key. */
  get all(): ReadonlyMap<string, Role> {
    return this.roles;
  }
}
