/**
 * The admin operations bound to the real adapters (wiring). Used by `npm run admin`, the seed and
 * integration tests. The environment (endpoints, names) decides which stack they act on.
 */
import { accountRepository, clock, config, ids, machineRepository, s3Client } from '../lambdas/wiring';
import { createAccount, registerMachine, type RegisterMachineCommand } from '../lambdas/core/use-cases/admin';
import { S3DiskUploader } from '../lambdas/adapters/s3/disk-uploader';

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
};
