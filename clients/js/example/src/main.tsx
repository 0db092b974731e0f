// The React example of @tokenward/client: log in through the BFF, call an API through it,
// log out. It holds no token; the BFF in front of it does the OAuth work. Built with
// `npm run example:build` and served through the BFF's spa.dir (see the package README).
import { StrictMode, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { BffHttpError } from '@tokenward/client';
import { BffProvider, useSession } from '@tokenward/client/react';

function App() {
  const { loading, user, error, login, logout, client } = useSession();
  const [result, setResult] = useState<{ status: number; body: unknown } | null>(null);
  if (loading) return <p id="status">Loading…</p>;
  if (error) return <p id="status">The BFF did not answer: {error.message}</p>;
  if (!user) {
    return (
      <main>
        <p id="status">Not logged in.</p>
        <button id="login" onClick={() => login()}>Log in</button>
      </main>
    );
  }
  const callApi = async () => {
    try {
      setResult({ status: 200, body: await client.json('/api/me') });
    } catch (e) {
      setResult({ status: e instanceof BffHttpError ? e.status : 0, body: String(e) });
    }
  };
  const name = typeof user.claims?.name === 'string' ? user.claims.name : user.sub;
  return (
    <main>
      <p id="status">Logged in as <span id="user">{name}</span></p>
      <button id="call" onClick={() => void callApi()}>Call API</button>{' '}
      <button id="logout" onClick={() => void logout()}>Log out</button>
      {result && (
        <pre id="result" data-status={result.status}>{JSON.stringify(result.body, null, 2)}</pre>
      )}
    </main>
  );
}

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <BffProvider>
      <App />
    </BffProvider>
  </StrictMode>,
);
