/** An account (tenant). Its id is what images and machines record as their owner. */
export interface Account {
  id: string;
  login: string;
  email?: string;
  created_at: string;
  /** Set by `admin account disable`: every credential of the account is refused while it is. */
  disabled_at?: string;
}

/** A disabled account authenticates with nothing (lambdas/auth/*.ts check this after each lookup). */
export const isActive = (account: Account | undefined): account is Account => !!account && !account.disabled_at;

/** The authenticated caller, handed to handlers by the authorizer's context. */
export interface Principal {
  accountId: string;
  login: string;
  roles: string[];
}

export const LOGIN_RE = /^[a-zA-Z][a-zA-Z0-9_.@-]{2,31}$/;
