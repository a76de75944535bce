/** Sign in: login and password, exchanged once for a short-lived token (POST /{login}/tokens). */
import { useState } from 'preact/hooks';
import { signIn } from '../api';
import { ErrorMessage, Notice, PageTitle, useAction } from '../ui';

export function SignIn({ notice }: { notice?: string }) {
  const [login, setLogin] = useState('');
  const [password, setPassword] = useState('');
  const action = useAction();
  const submit = (e: Event) => {
    e.preventDefault();
    void action.run(async () => {
      await signIn(login.trim(), password);
      setPassword('');
      if (!location.hash || location.hash === '#') location.hash = '#/images';
    });
  };
  return (
    <main id="main" class="sign-in">
      <form onSubmit={submit} aria-describedby={notice ? 'sign-in-notice' : undefined}>
        <PageTitle>Sign in</PageTitle>
        <p class="muted">Machine images: browse, create, share and provision.</p>
        {notice && (
          <div id="sign-in-notice">
            <Notice>{notice}</Notice>
          </div>
        )}
        <ErrorMessage error={action.error} />
        <label>
          Login
          <input
            name="login"
            autoComplete="username"
            required
            autoCapitalize="none"
            spellcheck={false}
            value={login}
            onInput={(e) => setLogin(e.currentTarget.value)}
          />
        </label>
        <label>
          Password
          <input
            name="password"
            type="password"
            autoComplete="current-password"
            required
            value={password}
            onInput={(e) => setPassword(e.currentTarget.value)}
          />
        </label>
        <button type="submit" class="primary" disabled={action.busy}>
          {action.busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
