// Vue 3 entry point: a plugin that shares one client, a session composable whose state is
// loaded once per client and follows every change (another tab's login, a session end),
// and composables that stop streams and websockets with their scope. Vue is a peer
// dependency.

import {
  hasInjectionContext, inject, onScopeDispose, readonly, ref, shallowRef, toValue, watch,
  type App, type DeepReadonly, type InjectionKey, type MaybeRefOrGetter, type Ref, type ShallowRef,
} from 'vue';
import { createBffClient, type BffClient, type BffClientOptions, type User } from './client.js';
import type { SseEvent } from './sse.js';
import type { StreamOptions } from './stream.js';
import type { ManagedWebSocket, WebSocketHandlers } from './websocket.js';

export const BFF_CLIENT: InjectionKey<BffClient> = Symbol('tokenward-bff-client');

/** app.use(createBffPlugin()) shares one client with every useBff/useSession below it. */
export function createBffPlugin(clientOrOptions?: BffClient | BffClientOptions) {
  const client = isClient(clientOrOptions) ? clientOrOptions : createBffClient(clientOrOptions);
  return {
    client,
    install(app: App) {
      app.provide(BFF_CLIENT, client);
    },
  };
}

function isClient(v: unknown): v is BffClient {
  return !!v && typeof (v as BffClient).fetch === 'function' && typeof (v as BffClient).onUserChange === 'function';
}

let fallback: BffClient | undefined;

/** The plugin's client; outside a component (or without the plugin) one shared default client. */
export function useBff(): BffClient {
  const provided = hasInjectionContext() ? inject(BFF_CLIENT, null) : null;
  return provided ?? (fallback ??= createBffClient());
}

export interface SessionRefs {
  user: DeepReadonly<Ref<User | null>>;
  loading: Readonly<Ref<boolean>>;
  error: Readonly<Ref<Error | null>>;
  /** Asks /bff/user again (the silent login is tried only on the first load). */
  reload: () => Promise<void>;
  login: BffClient['login'];
  logout: BffClient['logout'];
  fetch: BffClient['fetch'];
  client: BffClient;
}

interface State {
  user: Ref<User | null>;
  loading: Ref<boolean>;
  error: Ref<Error | null>;
  reload: () => Promise<void>;
}

const states = new WeakMap<BffClient, State>();

/** useSession: the session of the client (loaded once; silentLogin tries prompt=none on that load). */
export function useSession(opts: { silentLogin?: boolean; client?: BffClient } = {}): SessionRefs {
  const client = opts.client ?? useBff();
  let s = states.get(client);
  if (!s) {
    const st: State = { user: ref(null), loading: ref(true), error: ref(null), reload: async () => {} };
    const load = (first: boolean) => {
      st.loading.value = true;
      return (first && opts.silentLogin ? client.restoreSession() : client.user())
        .then((u) => { st.user.value = u; st.error.value = null; })
        .catch((e: unknown) => { st.user.value = null; st.error.value = e instanceof Error ? e : new Error(String(e)); })
        .finally(() => { st.loading.value = false; });
    };
    st.reload = () => load(false);
    client.onUserChange((u) => { st.user.value = u; }); // lives as long as the client
    states.set(client, st);
    void load(true);
    s = st;
  }
  return {
    user: readonly(s.user) as DeepReadonly<Ref<User | null>>,
    loading: readonly(s.loading),
    error: readonly(s.error) as Readonly<Ref<Error | null>>,
    reload: s.reload,
    login: client.login,
    logout: client.logout,
    fetch: client.fetch,
    client,
  };
}

/** Reads server-sent events while url (a ref or getter) is truthy; stops with the scope. */
export function useStream(url: MaybeRefOrGetter<string | null | undefined>, onEvent: (ev: SseEvent) => void, opts?: StreamOptions & { client?: BffClient }): void {
  const client = opts?.client ?? useBff();
  let stop: (() => void) | null = null;
  watch(() => toValue(url), (u) => {
    stop?.();
    stop = u ? client.stream(u, onEvent, undefined, opts) : null;
  }, { immediate: true });
  onScopeDispose(() => stop?.());
}

/** A managed websocket while url is truthy; closed with the scope. */
export function useWebSocket(url: MaybeRefOrGetter<string | null | undefined>, handlers: WebSocketHandlers & { client?: BffClient } = {}): ShallowRef<ManagedWebSocket | null> {
  const client = handlers.client ?? useBff();
  const ws = shallowRef<ManagedWebSocket | null>(null);
  watch(() => toValue(url), (u) => {
    ws.value?.close();
    ws.value = u ? client.websocket(u, handlers) : null;
  }, { immediate: true });
  onScopeDispose(() => ws.value?.close());
  return ws;
}
