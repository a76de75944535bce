/**
 * The admin operations bound to the real adapters (wiring). Used by `npm run admin`, the seed and
 * integration tests. The environment (endpoints, names) decides which stack they act on.
 */
import { accountRepository, clock, config, credentialRepository, ids, machineRepository, s3Client } from '../lambdas/wiring';
import { createAccount, registerMachine, setAccountDisabled, type RegisterMachineCommand } from '../lambdas/core/use-cases/admin';
import { S3DiskUploader } from '../lambdas/adapters/s3/disk-uploader';
import { NotFoundError, ValidationError } from '../lambdas/core/errors';
import { BUCKET_NAME_RE, userBucketKey, type BucketObjectRef } from '../lambdas/core/user-bucket';
import {
  addKey,
  createAksk,
  deleteAksk,
  deleteKey,
  issueToken,
  listAksks,
  listKeys,
  listTokens,
  revokeTokenById,
  setPassword,
} from '../lambdas/core/use-cases/credentials';

export const adminOps = {
  createAccount: (login: string, opts?: { id?: string; email?: string }) =>
    createAccount({ accounts: accountRepository(), clock, ids })(login, opts),
  registerMachine: (cmd: RegisterMachineCommand) =>
    registerMachine({
      accounts: accountRepository(),
      machines: machineRepository(),
      disks: new S3DiskUploader(s3Client(), config.disksBucket()),
      clock,
      ids,
    })(cmd),
  getAccount: (login: string) => accountRepository().getByLogin(login),
  listMachines: async (ownerId: string) => (await machineRepository().listByOwner(ownerId, { limit: 1000 })).items,
  setPassword: (login: string, password: string) => setPassword(credentialDeps())(login, password),
  /** Registers an SSH public key (OpenSSH, PEM or RFC 4716 text); returns it with its MD5 and SHA256 fingerprints. */
  addKey: (login: string, publicKeyText: string, opts?: { name?: string }) => addKey(credentialDeps())(login, publicKeyText, opts),
  createToken: (login: string, opts: { ttlSeconds: number }) => issueToken(credentialDeps())(login, opts),
  createAksk: (login: string) => createAksk(credentialDeps())(login),
  /** Disables (every credential refused at once) or re-enables an account. */
  setAccountDisabled: (login: string, disabled: boolean) => setAccountDisabled({ accounts: accountRepository(), clock })(login, disabled),
  /** Listings carry no secret: fingerprints, token ids (a prefix of the sha256), access keys, times. */
  listKeys: (login: string) => listKeys(credentialDeps())(login),
  deleteKey: (login: string, fingerprint: string) => deleteKey(credentialDeps())(login, fingerprint),
  listTokens: (login: string) => listTokens(credentialDeps())(login),
  revokeToken: (login: string, id: string) => revokeTokenById(credentialDeps())(login, id),
  listAksks: (login: string) => listAksks(credentialDeps())(login),
  deleteAksk: (login: string, ak: string) => deleteAksk(credentialDeps())(login, ak),
  /** Uploads a file into an account's bucket area, where IMS `image_url: "bucket:key"` imports read it. */
  putBucketObject: async (login: string, ref: BucketObjectRef, file: string) => {
    const account = await accountRepository().getByLogin(login);
    if (!account) throw new NotFoundError(`account ${login} not found`);
    if (!BUCKET_NAME_RE.test(ref.bucket))
      throw new ValidationError(`bucket name ${ref.bucket} is invalid`, [
        { field: 'bucket', code: 'Invalid', message: '3–63 of a-z, 0-9, "." and "-"' },
      ]);
    const size = await new S3DiskUploader(s3Client(), config.imagesBucket()).putDisk(userBucketKey(account.id, ref), file);
    return { bucket: ref.bucket, key: ref.key, size, image_url: `${ref.bucket}:${ref.key}` };
  },
};

const credentialDeps = () => ({ accounts: accountRepository(), credentials: credentialRepository(), clock });
