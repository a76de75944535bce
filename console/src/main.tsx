/** The console's shell: sign-in gate, header with navigation and sign-out, and the page for the route. */
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { currentSession, onSessionChange, signOut, type Session } from './api';
import { useRoute } from './ui';
import { SignIn } from './views/sign-in';
import { Catalog } from './views/catalog';
import { ImageDetail } from './views/image-detail';
import { CreateImage } from './views/create-image';
import { JobView } from './views/job';
import { Machines } from './views/machines';
import './styles.css';

function App() {
  const [session, setSession] = useState<Session | null>(currentSession);
  const [reason, setReason] = useState<string | undefined>();
  const route = useRoute();
  useEffect(
    () =>
      onSessionChange((s, why) => {
        setSession(s);
        setReason(why);
      }),
    [],
  );
  if (!session) return <SignIn notice={reason} />;

  const [section, id] = route.parts;
  const page =
    section === 'images' && id ? (
      <ImageDetail key={id} id={id} session={session} />
    ) : section === 'create' ? (
      <CreateImage session={session} machine={route.query.get('machine') ?? undefined} />
    ) : section === 'jobs' && id ? (
      <JobView key={id} id={id} />
    ) : section === 'machines' ? (
      <Machines session={session} />
    ) : (
      <Catalog session={session} />
    );
  const nav = [
    ['images', 'Images'],
    ['create', 'Create image'],
    ['machines', 'Machines'],
  ] as const;
  return (
    <>
      {/* biome-ignore lint/a11y/useValidAnchor: the console routes on the URL hash, so the skip link moves focus itself instead of navigating */}
      <a
        class="skip"
        href="#main"
        onClick={(e) => {
          e.preventDefault();
          document.getElementById('main')?.focus();
        }}
      >
        Skip to content
      </a>
      <header class="top">
        <span class="brand">Machine images</span>
        <nav aria-label="Main">
          <ul>
            {nav.map(([key, label]) => (
              <li key={key}>
                <a href={`#/${key}`} aria-current={section === key || (key === 'images' && !section) ? 'page' : undefined}>
                  {label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <div class="who">
          <span title={`account id ${session.accountId}`}>{session.login}</span>
          <button type="button" onClick={() => void signOut()}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        {page}
      </main>
      <footer class="foot">
        Account <code>{session.login}</code> · id <code data-testid="account-id">{session.accountId}</code>
      </footer>
    </>
  );
}

render(<App />, document.getElementById('app')!);
