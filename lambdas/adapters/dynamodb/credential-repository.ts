/**
 * CredentialRepository on the one table (adapter → core port). Each credential is its own item,
 * found with one GetItem by what the request carries: `KEY#<login>#<md5 fp>`, `CRED#<accountId>`
 * (password), `TOKEN#<sha256>`, `AKSK#<ak>`. The wrong-password counter is a conditional UpdateItem
 * on the password item, so concurrent failures are all counted and a missing item is never created.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, GetCommand, PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { AkskCredential, PasswordCredential, SshKeyCredential, TokenCredential } from '../../core/credential';
import type { CredentialRepository } from '../../core/ports';
import { keys } from './table';

function strip<T>(item: Record<string, unknown> | undefined): T | undefined {
  if (!item) return undefined;
  const { PK, SK, entity, ...rest } = item;
  void PK, SK, entity;
  return rest as T;
}

export class DynamoCredentialRepository implements CredentialRepository {
  constructor(private readonly doc: DynamoDBDocumentClient, private readonly tableName: string) {}

  private async get<T>(key: Record<string, string>): Promise<T | undefined> {
    const out = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: key, ConsistentRead: true }));
    return strip<T>(out.Item);
  }

  private async put(key: Record<string, string>, entity: string, item: object, condition?: string): Promise<void> {
    await this.doc.send(new PutCommand({ TableName: this.tableName, Item: { ...key, entity, ...item }, ConditionExpression: condition }));
  }

  putKey(key: SshKeyCredential): Promise<void> {
    return this.put(keys.sshKey(key.login, key.fingerprint), 'SshKey', key);
  }

  getKey(login: string, md5Fingerprint: string): Promise<SshKeyCredential | undefined> {
    return this.get(keys.sshKey(login, md5Fingerprint));
  }

  putPassword(cred: PasswordCredential): Promise<void> {
    return this.put(keys.password(cred.accountId), 'Password', cred);
  }

  getPassword(accountId: string): Promise<PasswordCredential | undefined> {
    return this.get(keys.password(accountId));
  }

  async recordPasswordFailure(accountId: string, opts: { maxFailures: number; lockUntil: string }): Promise<void> {
    try {
      const out = await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: keys.password(accountId),
          UpdateExpression: 'SET failures = if_not_exists(failures, :zero) + :one',
          ConditionExpression: 'attribute_exists(PK)',
          ExpressionAttributeValues: { ':zero': 0, ':one': 1 },
          ReturnValues: 'UPDATED_NEW',
        }),
      );
      if (Number(out.Attributes?.failures ?? 0) < opts.maxFailures) return;
      // Reached the limit: lock, and start counting afresh for after the lock.
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: keys.password(accountId),
          UpdateExpression: 'SET locked_until = :until, failures = :zero',
          ConditionExpression: 'attribute_exists(PK) AND failures >= :max',
          ExpressionAttributeValues: { ':until': opts.lockUntil, ':zero': 0, ':max': opts.maxFailures },
        }),
      );
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) return; // no password item, or another request locked it first
      throw err;
    }
  }

  async clearPasswordFailures(accountId: string): Promise<void> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: keys.password(accountId),
          UpdateExpression: 'SET failures = :zero REMOVE locked_until',
          ConditionExpression: 'attribute_exists(PK) AND failures > :zero',
          ExpressionAttributeValues: { ':zero': 0 },
        }),
      );
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) return;
      throw err;
    }
  }

  putToken(token: TokenCredential): Promise<void> {
    // `ttl` lets DynamoDB expire the item where TTL is enabled; the authorizer checks expires_at regardless.
    return this.put(keys.token(token.hash), 'Token', { ...token, ttl: Math.floor(Date.parse(token.expires_at) / 1000) + 86_400 }, 'attribute_not_exists(PK)');
  }

  async getToken(hash: string): Promise<TokenCredential | undefined> {
    const item = await this.get<TokenCredential & { ttl?: number }>(keys.token(hash));
    if (!item) return undefined;
    const { ttl, ...token } = item;
    void ttl;
    return token;
  }

  async deleteToken(hash: string, accountId: string): Promise<boolean> {
    try {
      await this.doc.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: keys.token(hash),
          ConditionExpression: 'attribute_exists(PK) AND accountId = :account',
          ExpressionAttributeValues: { ':account': accountId },
        }),
      );
      return true;
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) return false; // already revoked, or not this account's
      throw err;
    }
  }

  putAksk(cred: AkskCredential): Promise<void> {
    return this.put(keys.aksk(cred.ak), 'Aksk', cred, 'attribute_not_exists(PK)');
  }

  getAksk(ak: string): Promise<AkskCredential | undefined> {
    return this.get(keys.aksk(ak));
  }
}
