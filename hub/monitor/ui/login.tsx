import { useState } from 'preact/hooks';
import { login } from './api';

export function Login({ onLoggedIn, notice }: { onLoggedIn: () => void; notice?: string | null }) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await login(username, password);
      setPassword('');
      onLoggedIn();
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <main class="login">
      <form onSubmit={submit} data-testid="login-form">
        <h1>IVF Interface Hub</h1>
        <p class="sub">Monitor · sign in with your hub account</p>
        {notice && <p class="notice">{notice}</p>}
        <label class="block">
          User name
          <input id="username" name="username" autoComplete="username" value={username} required onInput={(e) => setUsername((e.target as HTMLInputElement).value)} />
        </label>
        <label class="block">
          Password
          <input id="password" name="password" type="password" autoComplete="current-password" value={password} required onInput={(e) => setPassword((e.target as HTMLInputElement).value)} />
        </label>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" class="primary" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
