/** An account (tenant). Its id is what images and machines record as their owner. */
export interface Account {
  id: string;
  login: string;
  email?: string;
  created_at: string;
}

/** The authenticated caller, handed to handlers by the authorizer's context. */
export interface Principal {
  accountId: string;
  login: string;
  roles: string[];
}

export const LOGIN_RE = /^[a-zA-Z][a-zA-Z0-9_.@-]{2,31}$/;
