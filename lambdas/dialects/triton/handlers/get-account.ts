/** GET /{login} — GetAccount: the caller's account (the CLI reads it when images carry an acl). */
import { getAccount } from '../../../core/use-cases/get-account';
import { httpHandler } from '../../../http/middleware';
import { accountRepository } from '../../../wiring';
import { tritonRenderer } from '../renderer';
import { serializeAccount } from '../serialize';

export const handler = httpHandler({ operation: 'GetAccount', renderer: tritonRenderer }, async (req) => {
  const account = await getAccount({ accounts: accountRepository() })(req.caller);
  return { status: 200, body: serializeAccount(account) };
});
