// Test doubles for the browser surface the client touches: a recording fetch that
// answers like the BFF, a location that records navigations, a BroadcastChannel bus
// between "tabs", and a scriptable WebSocket.
import type { LocationLike } from '../src/client.js';

export interface Call {
  url: string;
  method: string;
  headers: Headers;
  credentials?: RequestCredentials;
}

export type Route = (call: Call) => Response | Promise<Response>;

/** fakeFetch answers with route(call) and records every call. */
export function fakeFetch(route: Route) {
  const calls: Call[] = [];
  const fetch = async (input: RequestInfo | URL, init: RequestInit = {}) => {
    const call: Call = {
      url: String(input),
      method: init.method ?? 'GET',
      headers: new Headers(init.headers),
      credentials: init.credentials,
    };
    calls.push(call);
    if (init.signal?.aborted) throw new DOMException('aborted', 'AbortError');
    return route(call);
  };
  return { fetch: fetch as typeof globalThis.fetch, calls };
}

export const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });

export const problem = (type: string, status: number) =>
  new Response(JSON.stringify({ type, title: 'x', status }), { status, headers: { 'Content-Type': 'application/problem+json' } });

export const alice = {
  sub: 'alice-sub',
  claims: { name: 'Alice' },
  session: { createdAt: '2026-01-01T00:00:00Z', expiresAt: '2026-01-01T12:00:00Z', idleTimeoutSeconds: 1800 },
  logoutUrl: '/bff/logout?sid=h',
};

/** A BFF with a session toggle: /bff/client-config, /bff/user, /bff/logout, /api/*. */
export function fakeBff(opts: { header?: string; loggedIn?: boolean } = {}) {
  const state = { loggedIn: opts.loggedIn ?? true };
  const header = opts.header ?? 'X-CSRF';
  const f = fakeFetch((c) => {
    const path = new URL(c.url, 'http://app.test').pathname;
    if (path === '/bff/client-config') return json({ csrfHeader: header });
    if (c.headers.get(header) !== '1') return problem('csrf', 403);
    if (path === '/bff/user') return state.loggedIn ? json(alice) : problem('unauthenticated', 401);
    if (path === '/bff/logout' && c.method === 'POST') {
      state.loggedIn = false;
      return json({ logoutUrl: 'https://idp.test/end?x=1' });
    }
    return state.loggedIn ? json({ ok: true, path }) : problem('unauthenticated', 401);
  });
  return { ...f, state };
}

export function fakeLocation(path = '/orders/42?tab=2#items'): LocationLike & { assigned: string[] } {
  const u = new URL(path, 'http://app.test');
  const assigned: string[] = [];
  return {
    href: u.href,
    pathname: u.pathname,
    search: u.search,
    hash: u.hash,
    assign: (url: string) => void assigned.push(url),
    assigned,
  };
}

/** A BroadcastChannel bus: channels of one name hear each other (not themselves), at once. */
export function channelBus() {
  const members = new Set<FakeChannel>();
  class FakeChannel {
    onmessage: ((ev: MessageEvent) => void) | null = null;
    constructor(readonly name: string) {
      members.add(this);
    }
    postMessage(data: unknown) {
      for (const m of members) if (m !== this && m.name === this.name) m.onmessage?.({ data } as MessageEvent);
    }
    close() {
      members.delete(this);
    }
  }
  return FakeChannel;
}

/** sseResponse streams chunks (strings or bytes) as a text/event-stream body. */
export function sseResponse(chunks: (string | Uint8Array)[], init: { status?: number; type?: string } = {}) {
  const enc = new TextEncoder();
  const body = new ReadableStream<Uint8Array>({
    start(ctrl) {
      for (const c of chunks) ctrl.enqueue(typeof c === 'string' ? enc.encode(c) : c);
      ctrl.close();
    },
  });
  return new Response(body, { status: init.status ?? 200, headers: { 'Content-Type': init.type ?? 'text/event-stream' } });
}

/** A scriptable WebSocket: tests open and close it by hand. */
export class FakeWebSocket {
  static all: FakeWebSocket[] = [];
  readyState = 0;
  sent: unknown[] = [];
  onopen: ((ev: Event) => void) | null = null;
  onmessage: ((ev: MessageEvent) => void) | null = null;
  onclose: ((ev: CloseEvent) => void) | null = null;
  constructor(readonly url: string, readonly protocols?: string | string[]) {
    FakeWebSocket.all.push(this);
  }
  open() {
    this.readyState = 1;
    this.onopen?.(new Event('open'));
  }
  drop(code = 1006) {
    this.readyState = 3;
    this.onclose?.({ code } as CloseEvent);
  }
  send(d: unknown) {
    this.sent.push(d);
  }
  close(code = 1000) {
    if (this.readyState === 3) return;
    this.readyState = 3;
    this.onclose?.({ code } as CloseEvent);
  }
}

export const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));

/** until polls cond every few ms for up to 2 s. */
export async function until(cond: () => boolean, what: string) {
  for (let i = 0; i < 400; i++) {
    if (cond()) return;
    await tick(5);
  }
  throw new Error(`timed out waiting for ${what}`);
}
