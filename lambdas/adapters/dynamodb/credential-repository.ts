/**
 * CredentialRepository on the one table (adapter → core port). Each credential is its own item,
 * found with one GetItem by what the request carries: `KEY#<login>#<md5 fp>`, `CRED#<accountId>`
 * (password), `TOKEN#<sha256>`, `AKSK#<ak>`. Password attempts are counted per (source, login) on
 * `THROTTLE#<source>#<login>` by conditional UpdateItems (core/credential.ts LoginThrottlePolicy).
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, GetCommand, PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { lockSecondsFor, type AkskCredential, type LoginThrottlePolicy, type PasswordCredential, type SshKeyCredential, type TokenCredential } from '../../core/credential';
import type { CredentialRepository } from '../../core/ports';
import { keys } from './table';

function strip<T>(item: Record<string, unknown> | undefined): T | undefined {
  if (!item) return undefined;
  const { PK, SK, entity, ...rest } = item;
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

  async reserveLoginAttempt(source: string, login: string, policy: LoginThrottlePolicy, now: Date): Promise<boolean> {
    const Key = keys.loginThrottle(source, login);
    const iso = now.toISOString();
    const ttl = Math.floor(now.getTime() / 1000) + 86_400;
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key,
          UpdateExpression: 'SET attempts = if_not_exists(attempts, :zero) + :one, touched_at = :now, #ttl = :ttl',
          ConditionExpression: '(attribute_not_exists(blocked_until) OR blocked_until <= :now) AND (attribute_not_exists(attempts) OR attempts < :max)',
          ExpressionAttributeNames: { '#ttl': 'ttl' },
          ExpressionAttributeValues: { ':zero': 0, ':one': 1, ':now': iso, ':ttl': ttl, ':max': policy.maxAttempts },
        }),
      );
      return true;
    } catch (err) {
      if (!(err instanceof ConditionalCheckFailedException)) throw err;
    }
    // A full round nobody resolved for staleSeconds (attempts that never finished): start afresh.
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key,
          UpdateExpression: 'SET attempts = :one, touched_at = :now',
          ConditionExpression: '(attribute_not_exists(blocked_until) OR blocked_until <= :now) AND attempts >= :max AND touched_at < :stale',
          ExpressionAttributeValues: { ':one': 1, ':now': iso, ':max': policy.maxAttempts, ':stale': new Date(now.getTime() - policy.staleSeconds * 1000).toISOString() },
        }),
      );
      return true;
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) return false;
      throw err;
    }
  }

  async recordLoginFailure(source: string, login: string, policy: LoginThrottlePolicy, now: Date): Promise<void> {
    const Key = keys.loginThrottle(source, login);
    const item = await this.get<{ attempts?: number; strikes?: number }>(Key);
    if (!item || (item.attempts ?? 0) < policy.maxAttempts) return;
    const strikes = item.strikes ?? 0;
    try {
      // The round is full and this attempt was wrong: block, once (the condition lets one writer win).
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key,
          UpdateExpression: 'SET blocked_until = :until, strikes = :next, attempts = :zero',
          ConditionExpression: 'attempts >= :max AND (attribute_not_exists(blocked_until) OR blocked_until <= :now) AND (attribute_not_exists(strikes) OR strikes = :strikes)',
          ExpressionAttributeValues: {
            ':until': new Date(now.getTime() + lockSecondsFor(policy, strikes) * 1000).toISOString(),
            ':next': strikes + 1,
            ':zero': 0,
            ':max': policy.maxAttempts,
            ':now': now.toISOString(),
            ':strikes': strikes,
          },
        }),
      );
    } catch (err) {
      if (!(err instanceof ConditionalCheckFailedException)) throw err;
    }
  }

  async releaseLoginAttempt(source: string, login: string): Promise<void> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: keys.loginThrottle(source, login),
          UpdateExpression: 'SET attempts = attempts - :one, strikes = :zero',
          ConditionExpression: 'attempts > :zero',
          ExpressionAttributeValues: { ':one': 1, ':zero': 0 },
        }),
      );
    } catch (err) {
      if (!(err instanceof ConditionalCheckFailedException)) throw err;
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
