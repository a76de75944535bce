/**
 * AccountRepository. A login is unique: its LOGIN# item is claimed first with a conditional put,
 * then the ACCOUNT# item is written (no transactions needed; a crash between the two leaves a claim
 * that points at no account, which `getByLogin` treats as absent and `create` can reclaim).
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Account } from '../../core/account';
import { NotFoundError, StateConflictError } from '../../core/errors';
import type { AccountRepository } from '../../core/ports';
import { keys } from './table';

export class DynamoAccountRepository implements AccountRepository {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async create(account: Account): Promise<void> {
    const existing = await this.getByLogin(account.login);
    if (existing) throw new StateConflictError(`login ${account.login} is taken`);
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...keys.login(account.login), entity: 'Login', accountId: account.id },
          // A dangling claim (no account behind it) may be overwritten; a live one may not.
          ConditionExpression: 'attribute_not_exists(PK) OR accountId = :dangling',
          ExpressionAttributeValues: { ':dangling': (await this.danglingClaim(account.login)) ?? '-' },
        }),
      );
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...keys.account(account.id), entity: 'Account', ...account },
          ConditionExpression: 'attribute_not_exists(PK)',
        }),
      );
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) throw new StateConflictError(`login ${account.login} is taken`);
      throw err;
    }
  }

  async get(id: string): Promise<Account | undefined> {
    const out = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: keys.account(id), ConsistentRead: true }));
    if (!out.Item) return undefined;
    const { PK, SK, entity, ...account } = out.Item;
    return account as Account;
  }

  async getByLogin(login: string): Promise<Account | undefined> {
    const claim = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: keys.login(login), ConsistentRead: true }));
    const id = claim.Item?.accountId;
    return typeof id === 'string' ? this.get(id) : undefined;
  }

  async setDisabled(id: string, disabledAt: string | undefined): Promise<Account> {
    try {
      const out = await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: keys.account(id),
          ...(disabledAt
            ? { UpdateExpression: 'SET disabled_at = :at', ExpressionAttributeValues: { ':at': disabledAt } }
            : { UpdateExpression: 'REMOVE disabled_at' }),
          ConditionExpression: 'attribute_exists(PK)',
          ReturnValues: 'ALL_NEW',
        }),
      );
      const { PK, SK, entity, ...account } = out.Attributes ?? {};
      return account as Account;
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) throw new NotFoundError(`account ${id} not found`);
      throw err;
    }
  }

  private async danglingClaim(login: string): Promise<string | undefined> {
    const claim = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: keys.login(login), ConsistentRead: true }));
    const id = claim.Item?.accountId;
    if (typeof id !== 'string') return undefined;
    return (await this.get(id)) ? undefined : id;
  }
}
