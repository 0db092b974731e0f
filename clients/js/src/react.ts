// React entry point: <BffProvider> loads the session once and re-renders on every change
// (a login in another tab, a session end anywhere); hooks tie streams and websockets to a
// component's life. React is a peer dependency; this file uses no JSX so that it needs
// no build setting of yours.

import { createContext, createElement, useContext, useEffect, useRef, useState, type ReactNode } from 'react';
import { createBffClient, type BffClient, type BffClientOptions, type User } from './client.js';
import type { SseEvent } from './sse.js';
import type { StreamOptions } from './stream.js';
import type { ManagedWebSocket, WebSocketHandlers } from './websocket.js';

/** The session as the provider knows it. */
export interface SessionState {
  loading: boolean;
  user: User | null;
  error: Error | null;
}

/** useSession's answer: the state plus the client's actions. */
export interface SessionValue extends SessionState {
  client: BffClient;
  login: BffClient['login'];
  logout: BffClient['logout'];
  fetch: BffClient['fetch'];
  /** Asks /bff/user again. */
  reload: () => Promise<void>;
}

export interface BffProviderProps {
  /** The client to share; without it the provider makes one from options. */
  client?: BffClient;
  options?: BffClientOptions;
  /** Try a silent login (prompt=none) once when there is no session (restoreSession). */
  silentLogin?: boolean;
  children?: ReactNode;
}

const Ctx = createContext<{ client: BffClient; state: SessionState; reload: () => Promise<void> } | null>(null);

export function BffProvider({ client, options, silentLogin = false, children }: BffProviderProps) {
  // One client for the provider's life (StrictMode's double effects must not make two).
  const [c] = useState(() => client ?? createBffClient(options));
  const [state, setState] = useState<SessionState>({ loading: true, user: null, error: null });
  const reload = useRef(async () => {});
  useEffect(() => {
    let active = true;
    const set = (s: SessionState): void => {
      if (active) setState(s);
    };
    const off = c.onUserChange((user) => set({ loading: false, user, error: null }));
    const load = (first: boolean) =>
      (first && silentLogin ? c.restoreSession() : c.user()).then(
        (user) => set({ loading: false, user, error: null }),
        (error: unknown) => set({ loading: false, user: null, error: error instanceof Error ? error : new Error(String(error)) }),
      );
    reload.current = () => load(false);
    void load(true);
    return () => {
      active = false;
      off();
    };
  }, [c, silentLogin]);
  return createElement(Ctx.Provider, { value: { client: c, state, reload: () => reload.current() } }, children);
}

function useCtx(hook: string) {
  const v = useContext(Ctx);
  if (!v) throw new Error(`${hook} must be used inside <BffProvider>: wrap your app in it`);
  return v;
}

/** The provider's client. */
export function useBff(): BffClient {
  return useCtx('useBff').client;
}

/** The session and the actions: { loading, user, error, login, logout, fetch, reload, client }. */
export function useSession(): SessionValue {
  const { client, state, reload } = useCtx('useSession');
  return { ...state, client, login: client.login, logout: client.logout, fetch: client.fetch, reload };
}

/** Reads url's server-sent events while mounted and url is not null; the latest onEvent is called. */
export function useStream(url: string | null, onEvent: (ev: SseEvent) => void, opts?: StreamOptions): void {
  const client = useBff();
  const handler = useRef(onEvent);
  handler.current = onEvent;
  const reconnect = opts?.reconnect;
  const retry = opts?.retry;
  useEffect(() => {
    if (!url) return undefined;
    return client.stream(url, (ev) => handler.current(ev), undefined, { reconnect, retry });
  }, [client, url, reconnect, retry]);
}

/** A managed websocket while mounted and url is not null (reconnects, after a re-login if needed). */
export function useWebSocket(url: string | null, handlers: WebSocketHandlers = {}): ManagedWebSocket | null {
  const client = useBff();
  const h = useRef(handlers);
  h.current = handlers;
  const [ws, setWs] = useState<ManagedWebSocket | null>(null);
  useEffect(() => {
    if (!url) return undefined;
    const m = client.websocket(url, {
      protocols: h.current.protocols,
      retry: h.current.retry,
      onOpen: (s) => h.current.onOpen?.(s),
      onMessage: (e) => h.current.onMessage?.(e),
      onClose: (e) => h.current.onClose?.(e),
    });
    setWs(m);
    return () => {
      m.close();
      setWs(null);
    };
  }, [client, url]);
  return ws;
}
