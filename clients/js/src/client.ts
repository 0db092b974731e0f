// createBffClient: everything an SPA behind the Tokenward BFF does with it. The browser
// never holds a token: the BFF keeps them and sends an HttpOnly cookie; this client adds
// the CSRF header (its name read from the BFF), turns "no session" into a login or a
// report, reads streams, keeps websockets up and keeps the tabs of one origin in step.

import { BffHttpError, SESSION_END_TYPES, problemOf, type Problem } from './problem.js';
import { openStream, type StreamEnd, type StreamOptions } from './stream.js';
import type { SseEvent } from './sse.js';
import { openTabChannel, type ChannelConstructor, type TabMessage } from './sync.js';
import { openWebSocket, type ManagedWebSocket, type WebSocketHandlers } from './websocket.js';

/** GET /bff/user's answer. It never holds a token. */
export interface User {
  sub: string;
  claims?: Record<string, unknown>;
  session: { createdAt: string; expiresAt: string; idleTimeoutSeconds: number };
  /** The GET logout link carrying this session's logout handle. */
  logoutUrl: string;
}

/** The parts of window.location the client reads and drives (replaceable in tests). */
export interface LocationLike {
  href: string;
  pathname: string;
  search: string;
  hash: string;
  assign(url: string): void;
}

export interface BffClientOptions {
  /** Where the BFF's endpoints are (default "/bff"). */
  prefix?: string;
  /**
   * The CSRF header (csrf.headerName). Leave it out: the client reads it from
   * GET {prefix}/client-config once, so the two never disagree ("X-CSRF" if that fails).
   */
  csrfHeader?: string;
  /** Navigate to the login when a call answers 401 unauthenticated/session_expired (default true). */
  redirectOnExpiry?: boolean;
  /** The BroadcastChannel name for multi-tab sync, or false for none (default "tokenward-session"). */
  syncTabs?: string | false;
  /**
   * Live session events: true reads the BFF's own stream ({prefix}/session/events), whose
   * "ended" event ends the session in this tab at once (a logout in another tab or on
   * another device, a back-channel logout, expiry); a URL reads your deployment's stream,
   * whose "session_end" (or "ended") events do the same. Default: none.
   */
  sessionEvents?: string | true;
  /** Replaceable globals, for tests and non-window hosts. */
  fetch?: typeof globalThis.fetch;
  location?: LocationLike;
  history?: Pick<History, 'replaceState'>;
  BroadcastChannel?: ChannelConstructor;
  WebSocket?: WebSocketDeps['WebSocket'];
}
type WebSocketDeps = import('./websocket.js').WebSocketDeps;

/** fetch options plus noLoginRedirect: report a 401 session end but do not navigate. */
export interface BffRequestInit extends RequestInit {
  noLoginRedirect?: boolean;
}

/** Login options: prompt (e.g. "none" for a silent check, "login") and other authParams. */
export interface LoginOptions {
  prompt?: string;
  params?: Record<string, string>;
}

/** One of the user's sessions at this BFF (GET {prefix}/sessions); never a token or id. */
export interface SessionInfo {
  handle: string;
  createdAt: string;
  lastUsedAt: string;
  device?: string;
  current: boolean;
}

/**
 * One live session event (sessionEvents): its name ("session", "refreshed", "expiring",
 * "ended", "shutdown", or your stream's) and its data parsed as a JSON object ({} when it
 * is not one). The BFF's events never carry a token, a session id or a claim.
 */
export interface SessionEvent {
  event: string;
  data: Record<string, unknown>;
}

/** Logout options: everywhere ends every session of the user at this BFF. */
export interface LogoutOptions {
  everywhere?: boolean;
}

export interface BffClient {
  /** fetch with the CSRF header and same-origin credentials; a 401 session end is reported (and logs in again unless told not to). */
  fetch(input: RequestInfo | URL, init?: BffRequestInit): Promise<Response>;
  /** fetch and parse JSON; a non-2xx answer throws BffHttpError (with the problem). */
  json<T = unknown>(input: RequestInfo | URL, init?: BffRequestInit): Promise<T>;
  /** The logged-in user, or null (never navigates). */
  user(): Promise<User | null>;
  /** The same as user(); the name the earlier bff-client.js used. */
  session(): Promise<User | null>;
  /** The last user this client learned: undefined before the first answer. */
  readonly currentUser: User | null | undefined;
  /** Navigates to {prefix}/login?returnTo=… (default: the current path). */
  login(returnTo?: string, opts?: LoginOptions): void;
  /**
   * The user, trying a silent login (prompt=none) once when there is none: navigates to
   * the IdP (and resolves null) unless this load is already the silent login's answer.
   */
  restoreSession(): Promise<User | null>;
  /** Reads and removes the `bff_login` marker a silent login left in the address (or null). */
  takeSilentLoginResult(): string | null;
  /** Ends the session at the BFF and the IdP, tells the other tabs, and navigates to the IdP's logout. */
  logout(opts?: LogoutOptions): Promise<void>;
  /** The user's sessions at this BFF (devices, last use, which is this one). */
  sessions(): Promise<SessionInfo[]>;
  /** Ends one of the user's sessions by its handle; ending this one logs this tab out. */
  endSession(handle: string): Promise<void>;
  /** Reads server-sent events (with reconnect and Last-Event-ID); returns stop. */
  stream(url: string, onEvent: (ev: SseEvent) => void, onEnd?: StreamEnd, opts?: StreamOptions): () => void;
  /** A websocket through the BFF that reconnects, after a re-login when the session ended. */
  websocket(url: string, handlers?: WebSocketHandlers): ManagedWebSocket;
  /** Calls fn(problem) when the session ends (here, in another tab, or by a live event); returns unsubscribe. */
  onSessionEnd(fn: (problem: Problem) => void): () => void;
  /**
   * Calls fn(event) for every live session event (with the sessionEvents option), before
   * an "ended" event ends the session here; returns unsubscribe.
   */
  onSessionEvent(fn: (ev: SessionEvent) => void): () => void;
  /** Calls fn(user) whenever the client learns who is logged in (null: nobody); returns unsubscribe. */
  onUserChange(fn: (user: User | null) => void): () => void;
  /** The CSRF header's name (from the options or the BFF). */
  csrfHeader(): Promise<string>;
  /** Closes the tab channel and the session-event stream. */
  close(): void;
}

const DEFAULT_CSRF_HEADER = 'X-CSRF';
// An HTTP field name (RFC 9110 token); anything else from the BFF is not used.
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
// An ended event's reason as the BFF names them ("logout", "ended-elsewhere"): anything
// else is not passed on in the session-end problem.
const REASON = /^[a-z][a-z-]{0,31}$/;

// eventData is an event's data as a JSON object: {} for anything else (a page never has to
// guard against a string, an array or null).
function eventData(raw: string): Record<string, unknown> {
  try {
    const v: unknown = JSON.parse(raw);
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

export function createBffClient(options: BffClientOptions = {}): BffClient {
  const prefix = (options.prefix ?? '/bff').replace(/\/+$/, '');
  const redirectOnExpiry = options.redirectOnExpiry !== false;
  const doFetch = options.fetch ?? globalThis.fetch.bind(globalThis);
  const loc = (): LocationLike => options.location ?? (globalThis.location as unknown as LocationLike);
  const events = new EventTarget();
  let known: User | null | undefined;
  let headerName: Promise<string> | undefined = options.csrfHeader ? Promise.resolve(options.csrfHeader) : undefined;
  let stopEvents: (() => void) | undefined;
  let silentDecided = false;

  const tabs = openTabChannel(
    options.syncTabs === false ? '' : (options.syncTabs ?? 'tokenward-session'),
    options.syncTabs === false ? undefined : (options.BroadcastChannel ?? (globalThis.BroadcastChannel as ChannelConstructor | undefined)),
    onTabMessage,
  );

  function csrfHeader(): Promise<string> {
    headerName ??= discoverHeader().catch((err: unknown) => {
      headerName = undefined; // a network failure is retried on the next call
      throw err;
    });
    return headerName;
  }

  async function discoverHeader(): Promise<string> {
    const resp = await doFetch(`${prefix}/client-config`, { credentials: 'same-origin', headers: { Accept: 'application/json' } });
    if (!resp.ok) return DEFAULT_CSRF_HEADER; // an older BFF without the endpoint
    const body = (await resp.json().catch(() => null)) as { csrfHeader?: unknown } | null;
    const name = body?.csrfHeader;
    return typeof name === 'string' && TOKEN.test(name) ? name : DEFAULT_CSRF_HEADER;
  }

  function setUser(u: User | null): void {
    const before = known;
    known = u;
    if (u && (!before || before.sub !== u.sub)) tabs.post({ type: 'login' });
    if (before === undefined || (before?.sub ?? null) !== (u?.sub ?? null)) {
      events.dispatchEvent(new CustomEvent('user', { detail: u }));
      watchSessionEvents();
    }
  }

  function ended(problem: Problem, fromOtherTab = false): void {
    if (fromOtherTab && known === null) return; // nothing to end here
    if (!fromOtherTab) tabs.post({ type: 'end' });
    const had = known !== null;
    known = null;
    events.dispatchEvent(new CustomEvent('sessionend', { detail: problem }));
    if (had) events.dispatchEvent(new CustomEvent('user', { detail: null }));
    watchSessionEvents();
  }

  function onTabMessage(msg: TabMessage): void {
    if (msg.type === 'end') {
      ended({ type: 'unauthenticated', detail: 'the session ended in another tab' }, true);
    } else {
      void user().catch(() => {}); // another tab logged in: ask who, as any load would
    }
  }

  // currentPath is the address as a returnTo the BFF accepts: browsers leave a few
  // characters raw in a query or fragment (such as | { } ^), which it refuses.
  function currentPath(): string {
    const l = loc();
    return (l.pathname + l.search + l.hash).replace(/[^A-Za-z0-9\-._~:/?#[\]@!$&'()*+,;=%]/gu, encodeURIComponent);
  }

  function login(returnTo: string = currentPath(), opts: LoginOptions = {}): void {
    const q = new URLSearchParams();
    if (opts.prompt) q.set('prompt', opts.prompt);
    for (const [k, v] of Object.entries(opts.params ?? {})) q.set(k, v);
    q.set('returnTo', returnTo);
    loc().assign(`${prefix}/login?${q.toString()}`);
  }

  async function bffFetch(input: RequestInfo | URL, init: BffRequestInit = {}): Promise<Response> {
    const { noLoginRedirect, ...rest } = init;
    const headers = new Headers(rest.headers);
    headers.set(await csrfHeader(), '1');
    const resp = await doFetch(input, { ...rest, headers, credentials: 'same-origin' });
    if (resp.status === 401) {
      const problem = await problemOf(resp);
      if (problem && SESSION_END_TYPES.includes(problem.type)) {
        ended(problem);
        if (redirectOnExpiry && !noLoginRedirect) login();
      }
    }
    return resp;
  }

  async function json<T>(input: RequestInfo | URL, init?: BffRequestInit): Promise<T> {
    const resp = await bffFetch(input, init);
    if (!resp.ok) throw new BffHttpError(resp.status, String(input instanceof Request ? input.url : input), await problemOf(resp));
    return (await resp.json()) as T;
  }

  async function user(): Promise<User | null> {
    const resp = await doFetch(`${prefix}/user`, {
      headers: { [await csrfHeader()]: '1', Accept: 'application/json' },
      credentials: 'same-origin',
    });
    if (resp.status === 401) {
      // Logged out at load is no event; a session this tab knew that is gone now is one.
      if (known) ended((await problemOf(resp)) ?? { type: 'unauthenticated' });
      else setUser(null);
      return null;
    }
    if (!resp.ok) throw new BffHttpError(resp.status, `${prefix}/user`, await problemOf(resp));
    const u = (await resp.json()) as User;
    setUser(u);
    return u;
  }

  function takeSilentLoginResult(): string | null {
    const l = loc();
    const params = new URLSearchParams(l.search);
    const result = params.get('bff_login');
    if (result === null) return null;
    params.delete('bff_login');
    const q = params.toString();
    const h = options.history ?? (globalThis.history as History | undefined);
    h?.replaceState(null, '', l.pathname + (q ? `?${q}` : '') + l.hash);
    return result;
  }

  // The first call decides for the page load: a second one (React StrictMode runs effects
  // twice) must not start a silent login after the first took the marker away.
  async function restoreSession(): Promise<User | null> {
    const first = !silentDecided;
    silentDecided = true;
    const marker = takeSilentLoginResult();
    const u = await user();
    if (!u && marker === null && first) login(currentPath(), { prompt: 'none' });
    return u;
  }

  async function logout(opts: LogoutOptions = {}): Promise<void> {
    const url = `${prefix}/logout${opts.everywhere ? '?everywhere=1' : ''}`;
    const resp = await bffFetch(url, { method: 'POST', noLoginRedirect: true });
    const body = (resp.ok ? await resp.json().catch(() => ({})) : {}) as { logoutUrl?: string };
    ended({ type: 'logout' });
    loc().assign(body.logoutUrl || '/');
  }

  async function sessions(): Promise<SessionInfo[]> {
    const body = await json<{ sessions: SessionInfo[] }>(`${prefix}/sessions`, { noLoginRedirect: true });
    return body.sessions;
  }

  async function endSession(handle: string): Promise<void> {
    const resp = await bffFetch(`${prefix}/sessions/${encodeURIComponent(handle)}`, { method: 'DELETE', noLoginRedirect: true });
    if (!resp.ok) throw new BffHttpError(resp.status, `${prefix}/sessions/…`, await problemOf(resp));
    await user(); // when it was this session, this tab learns it is logged out
  }

  function stream(url: string, onEvent: (ev: SseEvent) => void, onEnd?: StreamEnd, opts?: StreamOptions) {
    return openStream((u, init) => bffFetch(u, init), url, onEvent, onEnd, opts);
  }

  function on<T>(name: string, fn: (v: T) => void): () => void {
    const listener = (e: Event) => fn((e as CustomEvent<T>).detail);
    events.addEventListener(name, listener);
    return () => events.removeEventListener(name, listener);
  }

  function websocket(url: string, handlers?: WebSocketHandlers): ManagedWebSocket {
    return openWebSocket(
      {
        WebSocket: options.WebSocket ?? (globalThis.WebSocket as WebSocketDeps['WebSocket']),
        base: loc().href,
        hasSession: async () => {
          const before = known;
          if (await user()) return true;
          // user() has reported the end of a session it knew; report one it did not.
          if (before === undefined) ended({ type: 'unauthenticated', detail: 'the websocket closed and there is no session' });
          return false;
        },
        onNextLogin: (fn) => {
          const off = on<User | null>('user', (u) => {
            if (u) {
              off();
              fn();
            }
          });
          return off;
        },
      },
      url,
      handlers,
    );
  }

  // The live session events run while someone is logged in; each goes to the onSessionEvent
  // listeners, and a "session_end" or "ended" event or a refused stream (401) ends the
  // session here without waiting for the next call.
  function watchSessionEvents(): void {
    if (!options.sessionEvents) return;
    if (known && !stopEvents) {
      stopEvents = openStream(
        (u, init) => bffFetch(u, { ...init, noLoginRedirect: true }),
        options.sessionEvents === true ? `${prefix}/session/events` : options.sessionEvents,
        (ev) => {
          const data = eventData(ev.data);
          events.dispatchEvent(new CustomEvent('sessionevent', { detail: { event: ev.event, data } }));
          if (ev.event === 'session_end' || ev.event === 'ended') {
            // The reason (logout, expired, …) lets a page say why; only a short name is passed on.
            const reason = typeof data.reason === 'string' && REASON.test(data.reason) ? data.reason : undefined;
            ended({ type: 'unauthenticated', detail: 'the session ended', ...(reason ? { reason } : {}) });
          }
        },
      );
    } else if (!known && stopEvents) {
      const stop = stopEvents;
      stopEvents = undefined;
      stop();
    }
  }

  return {
    fetch: bffFetch,
    json,
    user,
    session: user,
    get currentUser() {
      return known;
    },
    login,
    restoreSession,
    takeSilentLoginResult,
    logout,
    sessions,
    endSession,
    stream,
    websocket,
    onSessionEnd: (fn) => on<Problem>('sessionend', fn),
    onSessionEvent: (fn) => on<SessionEvent>('sessionevent', fn),
    onUserChange: (fn) => on<User | null>('user', fn),
    csrfHeader,
    close() {
      tabs.close();
      stopEvents?.();
      stopEvents = undefined;
    },
  };
}
