import { describe, expect, it } from 'vitest';
import { BffHttpError, createBffClient, queryFetcher, type Problem, type User } from '../src/index.js';
import { alice, channelBus, fakeBff, fakeFetch, fakeLocation, json, problem, sseResponse, until } from './fakes.js';

function setup(opts: { header?: string; loggedIn?: boolean; path?: string } = {}, clientOpts = {}) {
  const bff = fakeBff(opts);
  const location = fakeLocation(opts.path);
  const replaced: string[] = [];
  const client = createBffClient({
    fetch: bff.fetch,
    location,
    history: { replaceState: (_s: unknown, _t: string, url?: string | URL | null) => void replaced.push(String(url)) },
    syncTabs: false,
    ...clientOpts,
  });
  return { bff, location, client, replaced };
}

describe('the CSRF header', () => {
  it('is read from the BFF once and sent on every call', async () => {
    const { bff, client } = setup({ header: 'X-Requested-By' });
    await client.fetch('/api/a');
    await client.fetch('/api/b', { headers: { 'X-Other': 'x' } });
    const api = bff.calls.filter((c) => c.url.startsWith('/api/'));
    expect(bff.calls.filter((c) => c.url === '/bff/client-config')).toHaveLength(1);
    expect(api.map((c) => c.headers.get('X-Requested-By'))).toEqual(['1', '1']);
    expect(api[1]!.headers.get('X-Other')).toBe('x');
    expect(api.every((c) => c.credentials === 'same-origin')).toBe(true);
  });

  it('is X-CSRF when the BFF has no client-config endpoint (an older BFF)', async () => {
    const f = fakeFetch((c) => (c.url === '/bff/client-config' ? problem('not_found', 404) : json({ h: c.headers.get('X-CSRF') })));
    const client = createBffClient({ fetch: f.fetch, syncTabs: false, location: fakeLocation() });
    expect(await client.csrfHeader()).toBe('X-CSRF');
  });

  it('ignores a header name that is not an HTTP token', async () => {
    const f = fakeFetch(() => json({ csrfHeader: 'X-CSRF: 1\r\nEvil' }));
    const client = createBffClient({ fetch: f.fetch, syncTabs: false, location: fakeLocation() });
    expect(await client.csrfHeader()).toBe('X-CSRF');
  });

  it('is asked again after a network failure', async () => {
    let n = 0;
    const f = fakeFetch(() => {
      if (n++ === 0) throw new TypeError('offline');
      return json({ csrfHeader: 'X-Mine' });
    });
    const client = createBffClient({ fetch: f.fetch, syncTabs: false, location: fakeLocation() });
    await expect(client.csrfHeader()).rejects.toThrow('offline');
    expect(await client.csrfHeader()).toBe('X-Mine');
  });

  it('is not asked for when given', async () => {
    const { bff, client } = setup({ header: 'X-Mine' }, { csrfHeader: 'X-Mine' });
    await client.fetch('/api/a');
    expect(bff.calls.map((c) => c.url)).toEqual(['/api/a']);
  });
});

describe('401 handling', () => {
  it('reports the session end and logs in again, coming back to the current path', async () => {
    const { client, location } = setup({ loggedIn: false });
    const heard: Problem[] = [];
    client.onSessionEnd((p) => heard.push(p));
    const resp = await client.fetch('/api/orders');
    expect(resp.status).toBe(401);
    expect(heard.map((p) => p.type)).toEqual(['unauthenticated']);
    expect(location.assigned).toEqual(['/bff/login?returnTo=%2Forders%2F42%3Ftab%3D2%23items']);
  });

  it('only reports with redirectOnExpiry: false or noLoginRedirect', async () => {
    for (const [clientOpts, init] of [[{ redirectOnExpiry: false }, {}], [{}, { noLoginRedirect: true }]] as const) {
      const { client, location } = setup({ loggedIn: false }, clientOpts);
      const heard: string[] = [];
      client.onSessionEnd((p) => heard.push(p.type));
      await client.fetch('/api/orders', init);
      expect(heard).toEqual(['unauthenticated']);
      expect(location.assigned).toEqual([]);
    }
  });

  it('treats session_expired like unauthenticated, and other answers not at all', async () => {
    const answers = [problem('session_expired', 401), problem('csrf', 403), problem('idp_unavailable', 503), new Response('no', { status: 401 })];
    const f = fakeFetch(() => answers.shift()!);
    const location = fakeLocation();
    const client = createBffClient({ fetch: f.fetch, location, csrfHeader: 'X-CSRF', syncTabs: false, redirectOnExpiry: false });
    const heard: string[] = [];
    client.onSessionEnd((p) => heard.push(p.type));
    for (let i = 0; i < 4; i++) await client.fetch('/api/x');
    expect(heard).toEqual(['session_expired']);
  });

  it('an unsubscribed listener hears nothing', async () => {
    const { client } = setup({ loggedIn: false }, { redirectOnExpiry: false });
    const heard: string[] = [];
    const off = client.onSessionEnd(() => heard.push('x'));
    off();
    await client.fetch('/api/x');
    expect(heard).toEqual([]);
  });
});

describe('user, login, logout', () => {
  it('user() answers the user or null, never navigating', async () => {
    const { client, bff, location } = setup();
    expect(await client.user()).toEqual(alice);
    expect(client.currentUser).toEqual(alice);
    bff.state.loggedIn = false;
    expect(await client.session()).toBeNull();
    expect(location.assigned).toEqual([]);
  });

  it('user() reports a known session that is gone as a session end, but not a first logged-out answer', async () => {
    const { client, bff } = setup({ loggedIn: false });
    const heard: string[] = [];
    const users: (User | null)[] = [];
    client.onSessionEnd((p) => heard.push(p.type));
    client.onUserChange((u) => users.push(u));
    await client.user();
    expect(heard).toEqual([]);
    bff.state.loggedIn = true;
    await client.user();
    bff.state.loggedIn = false;
    await client.user();
    expect(heard).toEqual(['unauthenticated']);
    expect(users.map((u) => u?.sub ?? null)).toEqual([null, 'alice-sub', null]);
  });

  it('user() throws BffHttpError on another failure', async () => {
    const f = fakeFetch(() => problem('store_unavailable', 503));
    const client = createBffClient({ fetch: f.fetch, csrfHeader: 'X-CSRF', syncTabs: false, location: fakeLocation() });
    await expect(client.user()).rejects.toMatchObject({ status: 503, problem: { type: 'store_unavailable' } });
  });

  it('login() percent-encodes what browsers leave raw in the address, which the BFF would refuse', () => {
    const location = fakeLocation('/');
    location.pathname = '/caf%C3%A9';
    location.search = '?f=a|b&q={x}^';
    location.hash = '#sec|2';
    const client = createBffClient({ fetch: fakeBff().fetch, location, syncTabs: false });
    client.login();
    const returnTo = new URL(location.assigned[0]!, 'http://app.test').searchParams.get('returnTo');
    expect(returnTo).toBe('/caf%C3%A9?f=a%7Cb&q=%7Bx%7D%5E#sec%7C2');
  });

  it('login() sends returnTo, prompt and other parameters', () => {
    const { client, location } = setup();
    client.login();
    client.login('/settings?x=1#y', { prompt: 'login', params: { ui_locales: 'de' } });
    expect(location.assigned).toEqual([
      '/bff/login?returnTo=%2Forders%2F42%3Ftab%3D2%23items',
      '/bff/login?prompt=login&ui_locales=de&returnTo=%2Fsettings%3Fx%3D1%23y',
    ]);
  });

  it('logout() posts with the header, tells the listeners and goes to the IdP', async () => {
    const { client, bff, location } = setup();
    const heard: string[] = [];
    client.onSessionEnd((p) => heard.push(p.type));
    await client.logout();
    const post = bff.calls.find((c) => c.url === '/bff/logout')!;
    expect(post.method).toBe('POST');
    expect(post.headers.get('X-CSRF')).toBe('1');
    expect(heard).toEqual(['logout']);
    expect(location.assigned).toEqual(['https://idp.test/end?x=1']);
  });

  it('a custom prefix is used for every endpoint', async () => {
    const f = fakeFetch((c) => (c.url.endsWith('/client-config') ? json({ csrfHeader: 'X-CSRF' }) : json(alice)));
    const location = fakeLocation('/');
    const client = createBffClient({ fetch: f.fetch, location, prefix: '/auth/', syncTabs: false });
    await client.user();
    client.login('/');
    expect(f.calls.map((c) => c.url)).toEqual(['/auth/client-config', '/auth/user']);
    expect(location.assigned).toEqual(['/auth/login?returnTo=%2F']);
  });
});

describe('silent login', () => {
  it('without a session and without the marker, tries prompt=none once', async () => {
    const { client, location } = setup({ loggedIn: false });
    expect(await client.restoreSession()).toBeNull();
    expect(location.assigned).toEqual(['/bff/login?prompt=none&returnTo=%2Forders%2F42%3Ftab%3D2%23items']);
  });

  it('with the marker, does not try again, and removes the marker from the address', async () => {
    const { client, location, replaced } = setup({ loggedIn: false, path: '/orders/42?tab=2&bff_login=login_required#items' });
    expect(await client.restoreSession()).toBeNull();
    expect(location.assigned).toEqual([]);
    expect(replaced).toEqual(['/orders/42?tab=2#items']);
  });

  it('tries once per page load, however often it is called (React StrictMode runs effects twice)', async () => {
    const withMarker = setup({ loggedIn: false, path: '/a?bff_login=login_required' });
    await withMarker.client.restoreSession();
    await withMarker.client.restoreSession();
    expect(withMarker.location.assigned).toEqual([]);
    const without = setup({ loggedIn: false, path: '/a' });
    await without.client.restoreSession();
    await without.client.restoreSession();
    expect(without.location.assigned).toEqual(['/bff/login?prompt=none&returnTo=%2Fa']);
  });

  it('with a session, navigates nowhere', async () => {
    const { client, location } = setup();
    expect(await client.restoreSession()).toEqual(alice);
    expect(location.assigned).toEqual([]);
  });

  it('takeSilentLoginResult answers the marker or null', () => {
    expect(setup({ path: '/?bff_login=consent_required' }).client.takeSilentLoginResult()).toBe('consent_required');
    expect(setup({ path: '/?a=1' }).client.takeSilentLoginResult()).toBeNull();
  });
});

describe('json and the TanStack Query fetcher', () => {
  it('json() parses 2xx and throws BffHttpError with the problem otherwise', async () => {
    const { client, bff } = setup({}, { redirectOnExpiry: false });
    expect(await client.json('/api/orders')).toEqual({ ok: true, path: '/api/orders' });
    bff.state.loggedIn = false;
    const err = await client.json('/api/orders').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BffHttpError);
    expect(err).toMatchObject({ status: 401, problem: { type: 'unauthenticated' } });
  });

  it('queryFetcher fetches the query key\'s URL with the signal, and rejects a key without one', async () => {
    const { client, bff } = setup();
    const queryFn = queryFetcher(client);
    expect(await queryFn({ queryKey: ['/api/orders', { page: 1 }], signal: new AbortController().signal })).toEqual({ ok: true, path: '/api/orders' });
    expect(bff.calls.at(-1)!.headers.get('X-CSRF')).toBe('1');
    await expect(queryFn({ queryKey: [42] })).rejects.toThrow(/first element of the query key/);
  });
});

describe('multi-tab sync', () => {
  function twoTabs() {
    const Channel = channelBus();
    const bff = fakeBff();
    const mk = () => createBffClient({ fetch: bff.fetch, location: fakeLocation(), BroadcastChannel: Channel, redirectOnExpiry: false });
    return { bff, a: mk(), b: mk() };
  }

  it('a logout in one tab ends the session in the other, which does not navigate', async () => {
    const { a, b } = twoTabs();
    await a.user();
    await b.user();
    const heard: string[] = [];
    b.onSessionEnd((p) => heard.push(p.type));
    await a.logout();
    expect(heard).toEqual(['unauthenticated']);
    expect(b.currentUser).toBeNull();
  });

  it('a session end seen by one tab (a 401) reaches the other', async () => {
    const { a, b, bff } = twoTabs();
    await a.user();
    await b.user();
    bff.state.loggedIn = false;
    const users: (User | null)[] = [];
    b.onUserChange((u) => users.push(u));
    await a.fetch('/api/x');
    expect(users).toEqual([null]);
  });

  it('a login in one tab makes the other ask /bff/user and learn the user', async () => {
    const { a, b, bff } = twoTabs();
    bff.state.loggedIn = false;
    await b.user();
    const users: (string | null)[] = [];
    b.onUserChange((u) => users.push(u?.sub ?? null));
    bff.state.loggedIn = true;
    await a.user(); // a's page load after its login
    await until(() => users.length > 0, 'tab b to learn the user');
    expect(users).toEqual(['alice-sub']);
  });

  it('sends no user data between tabs', async () => {
    const posted: unknown[] = [];
    class Spy {
      onmessage = null;
      postMessage(m: unknown) { posted.push(m); }
      close() {}
    }
    const bff = fakeBff();
    const c = createBffClient({ fetch: bff.fetch, location: fakeLocation(), BroadcastChannel: Spy as never, redirectOnExpiry: false });
    await c.user();
    await c.logout();
    expect(posted).toEqual([{ type: 'login' }, { type: 'end' }]);
  });
});

describe('live session events', () => {
  it('a session_end event ends the session at once, and the stream stops', async () => {
    let streams = 0;
    const f = fakeFetch((c) => {
      if (c.url === '/bff/user') return json(alice);
      streams++;
      return sseResponse(['event: session_end\ndata: {}\n\n']);
    });
    const client = createBffClient({ fetch: f.fetch, location: fakeLocation(), csrfHeader: 'X-CSRF', syncTabs: false, sessionEvents: '/api/session-events' });
    const heard: string[] = [];
    client.onSessionEnd((p) => heard.push(p.type));
    await client.user();
    await until(() => heard.length === 1, 'the session end');
    await new Promise((r) => setTimeout(r, 50));
    expect(client.currentUser).toBeNull();
    expect(streams).toBe(1);
  });
  it('hands every live event to onSessionEvent, data parsed, before an ended event ends the session with its reason', async () => {
    const f = fakeFetch((c) => {
      if (c.url === '/bff/user') return json(alice);
      return sseResponse([
        'event: session\ndata: {"idleTimeoutSeconds":1800}\n\n',
        'event: refreshed\ndata: {"accessTokenExpiresAt":"2026-01-01T00:05:00Z"}\n\n',
        'event: expiring\ndata: {"which":"idle","at":"2026-01-01T00:30:00Z"}\n\n',
        'event: odd\ndata: [1,2]\n\n',
        'event: ended\ndata: {"reason":"ended-elsewhere"}\n\n',
      ]);
    });
    const client = createBffClient({ fetch: f.fetch, location: fakeLocation(), csrfHeader: 'X-CSRF', syncTabs: false, sessionEvents: true, redirectOnExpiry: false });
    const heard: string[] = [];
    client.onSessionEvent((ev) => heard.push(`${ev.event} ${JSON.stringify(ev.data)} user=${client.currentUser ? 'yes' : 'no'}`));
    const ends: unknown[] = [];
    client.onSessionEnd((p) => ends.push(p));
    await client.user();
    await until(() => ends.length === 1, 'the session end');
    expect(heard).toEqual([
      'session {"idleTimeoutSeconds":1800} user=yes',
      'refreshed {"accessTokenExpiresAt":"2026-01-01T00:05:00Z"} user=yes',
      'expiring {"which":"idle","at":"2026-01-01T00:30:00Z"} user=yes',
      'odd {} user=yes',
      'ended {"reason":"ended-elsewhere"} user=yes',
    ]);
    expect(ends).toEqual([{ type: 'unauthenticated', detail: 'the session ended', reason: 'ended-elsewhere' }]);
  });

  it('passes on only a short lower-case reason, and an unsubscribed listener hears nothing', async () => {
    const f = fakeFetch((c) => {
      if (c.url === '/bff/user') return json(alice);
      return sseResponse(['event: ended\ndata: {"reason":"<img src=x onerror=alert(1)>"}\n\n']);
    });
    const client = createBffClient({ fetch: f.fetch, location: fakeLocation(), csrfHeader: 'X-CSRF', syncTabs: false, sessionEvents: true, redirectOnExpiry: false });
    const unsubscribed: unknown[] = [];
    const off = client.onSessionEvent((ev) => unsubscribed.push(ev));
    off();
    const ends: unknown[] = [];
    client.onSessionEnd((p) => ends.push(p));
    await client.user();
    await until(() => ends.length === 1, 'the session end');
    expect(ends).toEqual([{ type: 'unauthenticated', detail: 'the session ended' }]);
    expect(unsubscribed).toEqual([]);
  });
});

describe('the session API', () => {
  it('lists, ends one by its handle and signs out everywhere, each with the CSRF header', async () => {
    const listed = [{ handle: 'h/1', createdAt: 'c', lastUsedAt: 'l', device: 'Firefox on Linux', current: false }];
    const f = fakeFetch((c) => {
      if (c.url === '/bff/user') return json(alice);
      if (c.url === '/bff/sessions') return json({ sessions: listed });
      if (c.url.startsWith('/bff/sessions/')) return new Response(null, { status: 204 });
      return json({ logoutUrl: '/bye' });
    });
    const location = fakeLocation();
    const client = createBffClient({ fetch: f.fetch, location, csrfHeader: 'X-CSRF', syncTabs: false });
    expect(await client.sessions()).toEqual(listed);
    await client.endSession('h/1');
    await client.logout({ everywhere: true });
    const calls = f.calls.filter((c) => c.url !== '/bff/user').map((c) => [c.method, c.url, c.headers.get('X-CSRF')]);
    expect(calls).toEqual([
      ['GET', '/bff/sessions', '1'],
      ['DELETE', '/bff/sessions/h%2F1', '1'],
      ['POST', '/bff/logout?everywhere=1', '1'],
    ]);
  });

  it("sessionEvents: true reads the BFF's stream, and its ended event ends the session", async () => {
    const urls: string[] = [];
    const f = fakeFetch((c) => {
      if (c.url === '/bff/user') return json(alice);
      urls.push(c.url);
      return sseResponse(['event: ended\ndata: {"reason":"logout"}\n\n']);
    });
    const client = createBffClient({ fetch: f.fetch, location: fakeLocation(), csrfHeader: 'X-CSRF', syncTabs: false, sessionEvents: true, redirectOnExpiry: false });
    const heard: string[] = [];
    client.onSessionEnd((p) => heard.push(p.type));
    await client.user();
    await until(() => heard.length === 1, 'the session end');
    expect(urls[0]).toBe('/bff/session/events');
    expect(client.currentUser).toBeNull();
  });
});
