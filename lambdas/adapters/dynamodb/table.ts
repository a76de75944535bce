/**
 * The one DynamoDB table: its key schema, indexes, and every access pattern the service uses.
 * The CDK data construct imports these names, so the deployed table and the code cannot drift.
 *
 * | access pattern                           | key / index                                    | operation         |
 * |------------------------------------------|------------------------------------------------|-------------------|
 * | get image by id                          | PK=IMAGE#<id>, SK=IMAGE                        | GetItem           |
 * | images owned by an account, newest first | GSI1: GSI1PK=OWNER#<owner>#IMAGES, GSI1SK=<published/created>#<id> | Query |
 * | public images                            | GSI2: GSI2PK=PUBLIC#IMAGES, GSI2SK=<published/created>#<id>        | Query |
 * | images being created, oldest first (ops)  | GSI4 (sparse): GSI4PK=CREATING#IMAGES while state is `creating`, GSI4SK=<created>#<id> | Query, Limit 1 |
 * | images shared with an account (accepted) | GSI3: GSI3PK=SHARED#<account>, GSI3SK=<published/created>#<id>     | Query |
 * | shares pending / rejected by an account  | GSI3: GSI3PK=SHARED#<account>#pending|rejected, same sort key      | Query |
 * | acl entries of an image                  | PK=IMAGE#<id>, SK begins_with ACL#              | Query             |
 * | get job by id                            | PK=JOB#<id>, SK=JOB                             | GetItem           |
 * | jobs of an account                       | GSI1: GSI1PK=OWNER#<owner>#JOBS, GSI1SK=<created>#<id>              | Query |
 * | get machine by id                        | PK=MACHINE#<id>, SK=MACHINE                     | GetItem           |
 * | machines of an account, by name          | GSI1: GSI1PK=OWNER#<owner>#MACHINES, GSI1SK=<name>#<id>             | Query |
 * | image name record of an owner (IMG.0009)  | PK=IMAGENAME#<owner>#<name>, SK=IMAGENAME, `holders` = image ids | conditional UpdateItem |
 * | idempotency record (Idempotency-Key)      | PK=IDEMPOTENCY#<hash>, SK=IDEMPOTENCY (lambdas/http/idempotency.ts) | conditional PutItem |
 * | IMS: a volume (machine disk) by id       | GSI1 owner machines, disks searched in the core  | Query             |
 * | get account by id                        | PK=ACCOUNT#<id>, SK=ACCOUNT                     | GetItem           |
 * | get account by login (unique)            | PK=LOGIN#<login>, SK=LOGIN  → accountId         | GetItem           |
 * | SSH key of a login by MD5 fingerprint    | PK=KEY#<login>#<md5 fp>, SK=KEY                 | GetItem           |
 * | password hash                            | PK=CRED#<accountId>, SK=PASSWORD                | GetItem           |
 * | password attempts of a (source, login)   | PK=THROTTLE#<source ip>#<login>, SK=THROTTLE    | conditional UpdateItem |
 * | API token by sha256 of the token         | PK=TOKEN#<sha256 hex>, SK=TOKEN                 | GetItem           |
 * | AK/SK pair by access key                 | PK=AKSK#<ak>, SK=AKSK                           | GetItem           |
 * | keys, tokens, AK/SK pairs of an account  | GSI1: GSI1PK=OWNER#<owner>#CREDENTIALS, GSI1SK=<KEY|TOKEN|AKSK>#<created>#<id> | Query (admin) |
 * | UForge: get appliance by id              | PK=APPLIANCE#<id>, SK=APPLIANCE                 | GetItem           |
 * | UForge: appliances of an account         | GSI1: GSI1PK=OWNER#<owner>#APPLIANCES, GSI1SK=<created>#<id>        | Query |
 * | UForge: get generated image by id        | PK=APPLIANCEIMAGE#<id>, SK=APPLIANCEIMAGE       | GetItem           |
 * | UForge: images generated from an appliance | GSI1: GSI1PK=APPLIANCE#<aid>#IMAGES, GSI1SK=<created>#<id>        | Query |
 *
 * No request path scans. Items carry `rev` (optimistic lock) and every state change is conditional.
 */
export const TABLE_KEYS = { partitionKey: 'PK', sortKey: 'SK' } as const;

/** The attribute the table's TimeToLiveSpecification names: epoch seconds after which DynamoDB may delete the item. */
export const TTL_ATTRIBUTE = 'ttl';

export const INDEXES = {
  byOwner: { name: 'GSI1', partitionKey: 'GSI1PK', sortKey: 'GSI1SK' },
  publicImages: { name: 'GSI2', partitionKey: 'GSI2PK', sortKey: 'GSI2SK' },
  sharedWith: { name: 'GSI3', partitionKey: 'GSI3PK', sortKey: 'GSI3SK' },
  /** Sparse: only images in state `creating` carry GSI4PK (lambdas/ops/oldest-creating.ts reads it). */
  creatingImages: { name: 'GSI4', partitionKey: 'GSI4PK', sortKey: 'GSI4SK' },
} as const;

/**
 * Partition-key prefixes of the only items the authorizer writes: password-attempt counters and
 * password items (a hash upgraded at login). Its IAM allows UpdateItem on these alone (dynamodb:LeadingKeys).
 */
export const AUTHORIZER_WRITTEN_KEY_PREFIXES = ['THROTTLE#', 'CRED#'] as const;

export const keys = {
  image: (id: string) => ({ PK: `IMAGE#${id}`, SK: 'IMAGE' }),
  imageName: (owner: string, name: string) => ({ PK: `IMAGENAME#${owner}#${name}`, SK: 'IMAGENAME' }),
  imageAcl: (id: string, account: string) => ({ PK: `IMAGE#${id}`, SK: `ACL#${account}` }),
  ownerImages: (owner: string) => `OWNER#${owner}#IMAGES`,
  publicImages: () => 'PUBLIC#IMAGES',
  creatingImages: () => 'CREATING#IMAGES',
  sharedWith: (account: string) => `SHARED#${account}`,
  /** Accepted shares sit in `SHARED#<account>` (the default listing); pending and rejected ones beside it. */
  sharedWithStatus: (account: string, status: 'accepted' | 'pending' | 'rejected') =>
    status === 'accepted' ? `SHARED#${account}` : `SHARED#${account}#${status}`,
  job: (id: string) => ({ PK: `JOB#${id}`, SK: 'JOB' }),
  ownerJobs: (owner: string) => `OWNER#${owner}#JOBS`,
  machine: (id: string) => ({ PK: `MACHINE#${id}`, SK: 'MACHINE' }),
  ownerMachines: (owner: string) => `OWNER#${owner}#MACHINES`,
  account: (id: string) => ({ PK: `ACCOUNT#${id}`, SK: 'ACCOUNT' }),
  login: (login: string) => ({ PK: `LOGIN#${login.toLowerCase()}`, SK: 'LOGIN' }),
  sshKey: (login: string, md5Fingerprint: string) => ({ PK: `KEY#${login.toLowerCase()}#${md5Fingerprint.toLowerCase()}`, SK: 'KEY' }),
  password: (accountId: string) => ({ PK: `CRED#${accountId}`, SK: 'PASSWORD' }),
  token: (sha256Hex: string) => ({ PK: `TOKEN#${sha256Hex}`, SK: 'TOKEN' }),
  aksk: (ak: string) => ({ PK: `AKSK#${ak}`, SK: 'AKSK' }),
  ownerCredentials: (owner: string) => `OWNER#${owner}#CREDENTIALS`,
  loginThrottle: (source: string, login: string) => ({ PK: `THROTTLE#${source}#${login.toLowerCase()}`, SK: 'THROTTLE' }),
  appliance: (id: string) => ({ PK: `APPLIANCE#${id}`, SK: 'APPLIANCE' }),
  ownerAppliances: (owner: string) => `OWNER#${owner}#APPLIANCES`,
  applianceImage: (id: string) => ({ PK: `APPLIANCEIMAGE#${id}`, SK: 'APPLIANCEIMAGE' }),
  applianceImages: (applianceId: string) => `APPLIANCE#${applianceId}#IMAGES`,
};

/** Sort key of an image in every listing: publication (or creation) time, then id, so ties are stable. */
export const imageSortKey = (image: { published_at?: string; created_at: string; id: string }): string =>
  `${image.published_at ?? image.created_at}#${image.id}`;
