/** GetAccount: the caller's own account (CloudAPI `GET /:login`). */
import type { Account, Principal } from '../account';
import { NotFoundError } from '../errors';
import type { AccountRepository } from '../ports';

export const getAccount =
  (deps: { accounts: AccountRepository }) =>
  async (caller: Principal): Promise<Account> => {
    const account = await deps.accounts.get(caller.accountId);
    if (!account) throw new NotFoundError('account not found');
    return account;
  };
