// bff-client.js — a dependency-free client for an SPA behind the Tokenward BFF.
// Copy this file into a React, Vue or plain-JS app. The browser never holds a token:
// the BFF keeps them and sends an HttpOnly session cookie; this module only adds the
// anti-forgery header, turns "you are not logged in" into a login redirect, and tells the
// app when the session ends.
//
//   import { createBffClient } from './bff-client.js';
//   const bff = createBffClient();
//   const user = await bff.session();          // null when logged out
//   const resp = await bff.fetch('/api/things'); // CSRF header added, cookie sent
//   const off = bff.onSessionEnd(() => render(null)); // off() unsubscribes
//   bff.login();  bff.logout();
//   bff.stream('/api/clock', ev => console.log(ev.data)); // SSE over fetch

/**
 * @param {object} [options]
 * @param {string} [options.csrfHeader='X-CSRF'] header the BFF requires (csrf.headerName)
 * @param {string} [options.prefix='/bff'] where the BFF's endpoints live
 * @param {boolean} [options.redirectOnExpiry=true] go to the login page when an API call
 *   answers 401 unauthenticated/session_expired
 */
export function createBffClient(options = {}) {
  const csrfHeader = options.csrfHeader || 'X-CSRF';
  const prefix = options.prefix || '/bff';
  const redirectOnExpiry = options.redirectOnExpiry !== false;
  const events = new EventTarget();

  function currentPath() {
    return window.location.pathname + window.location.search + window.location.hash;
  }

  function login(returnTo = currentPath()) {
    window.location.assign(`${prefix}/login?returnTo=${encodeURIComponent(returnTo)}`);
  }

  function ended(problem) {
    events.dispatchEvent(new CustomEvent('sessionend', { detail: problem }));
  }

  async function problemOf(resp) {
    if (!(resp.headers.get('Content-Type') || '').startsWith('application/problem+json')) return null;
    try { return await resp.clone().json(); } catch { return null; }
  }

  /** fetch with the CSRF header and same-origin credentials; 401s end the session. */
  async function bffFetch(input, init = {}) {
    const headers = new Headers(init.headers || {});
    headers.set(csrfHeader, '1');
    const resp = await fetch(input, { ...init, headers, credentials: 'same-origin' });
    if (resp.status === 401) {
      const problem = await problemOf(resp);
      if (problem && (problem.type === 'unauthenticated' || problem.type === 'session_expired')) {
        ended(problem);
        if (redirectOnExpiry && !init.noLoginRedirect) login();
      }
    }
    return resp;
  }

  /** The logged-in user ({sub, claims, session, logoutUrl}) or null. */
  async function session() {
    const resp = await bffFetch(`${prefix}/user`, { noLoginRedirect: true });
    if (resp.status === 401) return null;
    if (!resp.ok) throw new Error(`session: HTTP ${resp.status}`);
    return resp.json();
  }

  /** Ends the session at the BFF and the IdP (RP-initiated logout). */
  async function logout() {
    const resp = await bffFetch(`${prefix}/logout`, { method: 'POST', noLoginRedirect: true });
    const body = resp.ok ? await resp.json() : {};
    ended({ type: 'logout' });
    window.location.assign(body.logoutUrl || '/');
  }

  /**
   * Reads a server-sent-events stream through the BFF. EventSource cannot send the CSRF
   * header, so this uses fetch and parses the stream. Returns a function that stops it.
   */
  function stream(url, onEvent, onEnd = () => {}) {
    const ctrl = new AbortController();
    (async () => {
      try {
        const resp = await bffFetch(url, { signal: ctrl.signal, headers: { Accept: 'text/event-stream' } });
        if (!resp.ok || !resp.body) { onEnd(new Error(`stream: HTTP ${resp.status}`)); return; }
        const reader = resp.body.pipeThrough(new TextDecoderStream()).getReader();
        let buf = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buf += value;
          let i;
          while ((i = buf.indexOf('\n\n')) >= 0) {
            const block = buf.slice(0, i);
            buf = buf.slice(i + 2);
            const ev = { event: 'message', data: '' };
            for (const line of block.split('\n')) {
              if (line.startsWith('data:')) ev.data += (ev.data ? '\n' : '') + line.slice(5).trimStart();
              else if (line.startsWith('event:')) ev.event = line.slice(6).trim();
            }
            onEvent(ev);
          }
        }
        onEnd(null);
      } catch (err) {
        onEnd(err.name === 'AbortError' ? null : err);
      }
    })();
    return () => ctrl.abort();
  }

  return {
    fetch: bffFetch,
    session,
    login,
    logout,
    stream,
    /** Calls fn(problem) when the session ends; returns a function that unsubscribes. */
    onSessionEnd(fn) {
      const listener = (e) => fn(e.detail);
      events.addEventListener('sessionend', listener);
      return () => events.removeEventListener('sessionend', listener);
    },
  };
}
