/**
 * CredentialRepository on the one table (adapter → core port). Each credential is its own item,
 * found with one GetItem by what the request carries: `KEY#<login>#<md5 fp>`, `CRED#<accountId>`
 * (password), `TOKEN#<sha256>`, `AKSK#<ak>`. Password attempts are counted per (source, login) on
 * `THROTTLE#<source>#<login>` by conditional UpdateItems (core/credential.ts LoginThrottlePolicy).
 * Keys, tokens and AK/SK pairs also carry the owner index's attributes (`OWNER#<accountId>#CREDENTIALS`,
 * `<KIND>#<created>#<id>`) so the admin can list and revoke them with one Query, never a scan.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, GetCommand, PutCommand, QueryCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import {
  lockSecondsFor,
  type AkskCredential,
  type LoginThrottlePolicy,
  type PasswordCredential,
  type SshKeyCredential,
  type TokenCredential,
} from '../../core/credential';
import type { CredentialRepository } from '../../core/ports';
import { INDEXES, keys, TTL_ATTRIBUTE } from './table';

function strip<T>(item: Record<string, unknown> | undefined): T | undefined {
  if (!item) return undefined;
  const { PK, SK, entity, GSI1PK, GSI1SK, ...rest } = item;
  return rest as T;
}

type CredentialKind = 'KEY' | 'TOKEN' | 'AKSK';

/** The owner-index attributes of a listed credential. */
const ownerIndex = (accountId: string, kind: CredentialKind, created_at: string, id: string) => ({
  [INDEXES.byOwner.partitionKey]: keys.ownerCredentials(accountId),
  [INDEXES.byOwner.sortKey]: `${kind}#${created_at}#${id}`,
});

export class DynamoCredentialRepository implements CredentialRepository {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  private async get<T>(key: Record<string, string>): Promise<T | undefined> {
    const out = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: key, ConsistentRead: true }));
    return strip<T>(out.Item);
  }

  private async put(key: Record<string, string>, entity: string, item: object, condition?: string): Promise<void> {
    await this.doc.send(new PutCommand({ TableName: this.tableName, Item: { ...key, entity, ...item }, ConditionExpression: condition }));
  }

  putKey(key: SshKeyCredential): Promise<void> {
    return this.put(keys.sshKey(key.login, key.fingerprint), 'SshKey', {
      ...key,
      ...ownerIndex(key.accountId, 'KEY', key.created_at, key.fingerprint),
    });
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
          ConditionExpression:
            '(attribute_not_exists(blocked_until) OR blocked_until <= :now) AND (attribute_not_exists(attempts) OR attempts < :max)',
          ExpressionAttributeNames: { '#ttl': TTL_ATTRIBUTE },
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
          ConditionExpression:
            '(attribute_not_exists(blocked_until) OR blocked_until <= :now) AND attempts >= :max AND touched_at < :stale',
          ExpressionAttributeValues: {
            ':one': 1,
            ':now': iso,
            ':max': policy.maxAttempts,
            ':stale': new Date(now.getTime() - policy.staleSeconds * 1000).toISOString(),
          },
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
          ConditionExpression:
            'attempts >= :max AND (attribute_not_exists(blocked_until) OR blocked_until <= :now) AND (attribute_not_exists(strikes) OR strikes = :strikes)',
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
    // TTL_ATTRIBUTE lets DynamoDB delete the item a day after it expires (the table's TTL; deletion
    // lags, so the authorizer checks expires_at itself, lambdas/auth/token.ts).
    const ttl = Math.floor(Date.parse(token.expires_at) / 1000) + 86_400;
    return this.put(
      keys.token(token.hash),
      'Token',
      { ...token, ...ownerIndex(token.accountId, 'TOKEN', token.created_at, token.hash), [TTL_ATTRIBUTE]: ttl },
      'attribute_not_exists(PK)',
    );
  }

  async getToken(hash: string): Promise<TokenCredential | undefined> {
    const item = await this.get<TokenCredential & { ttl?: number }>(keys.token(hash));
    if (!item) return undefined;
    const { ttl, ...token } = item;
    return token;
  }

  deleteToken(hash: string, accountId: string): Promise<boolean> {
    return this.deleteOwned(keys.token(hash), accountId);
  }

  putAksk(cred: AkskCredential): Promise<void> {
    return this.put(
      keys.aksk(cred.ak),
      'Aksk',
      { ...cred, ...ownerIndex(cred.accountId, 'AKSK', cred.created_at, cred.ak) },
      'attribute_not_exists(PK)',
    );
  }

  getAksk(ak: string): Promise<AkskCredential | undefined> {
    return this.get(keys.aksk(ak));
  }

  async upgradePassword(
    accountId: string,
    expect: { hash: string; salt: string },
    next: Pick<PasswordCredential, 'hash' | 'salt' | 'params'>,
  ): Promise<boolean> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: keys.password(accountId),
          UpdateExpression: 'SET #hash = :hash, salt = :salt, params = :params',
          ConditionExpression: '#hash = :oldHash AND salt = :oldSalt',
          ExpressionAttributeNames: { '#hash': 'hash' },
          ExpressionAttributeValues: {
            ':hash': next.hash,
            ':salt': next.salt,
            ':params': next.params,
            ':oldHash': expect.hash,
            ':oldSalt': expect.salt,
          },
        }),
      );
      return true;
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) return false; // changed or upgraded meanwhile: theirs stands
      throw err;
    }
  }

  private async listKind<T>(accountId: string, kind: CredentialKind): Promise<T[]> {
    const out: T[] = [];
    let ExclusiveStartKey: Record<string, unknown> | undefined;
    do {
      const page = await this.doc.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: INDEXES.byOwner.name,
          KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :kind)',
          ExpressionAttributeNames: { '#pk': INDEXES.byOwner.partitionKey, '#sk': INDEXES.byOwner.sortKey },
          ExpressionAttributeValues: { ':pk': keys.ownerCredentials(accountId), ':kind': `${kind}#` },
          ExclusiveStartKey,
        }),
      );
      for (const item of page.Items ?? []) {
        const { ttl, ...rest } = strip<T & { ttl?: number }>(item)!;
        out.push(rest as T);
      }
      ExclusiveStartKey = page.LastEvaluatedKey;
    } while (ExclusiveStartKey);
    return out;
  }

  listKeys(accountId: string): Promise<SshKeyCredential[]> {
    return this.listKind(accountId, 'KEY');
  }

  listTokens(accountId: string): Promise<TokenCredential[]> {
    return this.listKind(accountId, 'TOKEN');
  }

  listAksks(accountId: string): Promise<AkskCredential[]> {
    return this.listKind(accountId, 'AKSK');
  }

  private async deleteOwned(Key: Record<string, string>, accountId: string): Promise<boolean> {
    try {
      await this.doc.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key,
          ConditionExpression: 'attribute_exists(PK) AND accountId = :account',
          ExpressionAttributeValues: { ':account': accountId },
        }),
      );
      return true;
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) return false; // already gone, or not this account's
      throw err;
    }
  }

  deleteKey(login: string, md5Fingerprint: string, accountId: string): Promise<boolean> {
    return this.deleteOwned(keys.sshKey(login, md5Fingerprint), accountId);
  }

  deleteAksk(ak: string, accountId: string): Promise<boolean> {
    return this.deleteOwned(keys.aksk(ak), accountId);
  }
}
