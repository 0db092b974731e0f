import { createApp, effectScope, nextTick, ref } from 'vue';
import { describe, expect, it } from 'vitest';
import { createBffClient } from '../src/index.js';
import { createBffPlugin, useBff, useSession, useStream, useWebSocket } from '../src/vue.js';
import { FakeWebSocket, fakeBff, fakeLocation, sseResponse, tick, until } from './fakes.js';

describe('vue useSession', () => {
  it('loads once per client, shares the state, and follows a session end', async () => {
    const bff = fakeBff();
    const client = createBffClient({ fetch: bff.fetch, location: fakeLocation(), syncTabs: false, redirectOnExpiry: false });
    const scope = effectScope();
    const [a, b] = scope.run(() => [useSession({ client }), useSession({ client })])!;
    expect(a.loading.value).toBe(true);
    await until(() => !a.loading.value, 'the load');
    expect(a.user.value?.sub).toBe('alice-sub');
    expect(b.user.value?.sub).toBe('alice-sub');
    expect(bff.calls.filter((c) => c.url === '/bff/user')).toHaveLength(1);
    bff.state.loggedIn = false;
    await client.fetch('/api/x');
    expect(a.user.value).toBeNull();
    scope.stop();
  });

  it('reload asks again; silentLogin tries prompt=none on the first load only', async () => {
    const bff = fakeBff({ loggedIn: false });
    const location = fakeLocation('/v');
    const client = createBffClient({ fetch: bff.fetch, location, syncTabs: false });
    const s = useSession({ client, silentLogin: true });
    await until(() => !s.loading.value, 'the load');
    await s.reload();
    expect(location.assigned).toEqual(['/bff/login?prompt=none&returnTo=%2Fv']);
  });
});

describe('vue useStream', () => {
  it('follows its URL and stops with the scope', async () => {
    const opened: string[] = [];
    let aborted = 0;
    const fetch: typeof globalThis.fetch = async (input, init) => {
      opened.push(String(input));
      init?.signal?.addEventListener('abort', () => aborted++);
      return sseResponse([`data: ${String(input)}\n\n`, ':\n']);
    };
    const client = createBffClient({ fetch, location: fakeLocation(), syncTabs: false, csrfHeader: 'X-CSRF' });
    const url = ref<string | null>('/api/a');
    const got: string[] = [];
    const scope = effectScope();
    scope.run(() => useStream(url, (ev) => got.push(ev.data), { client, retry: 10_000 }));
    await until(() => got.length === 1, 'the first event');
    url.value = '/api/b';
    await nextTick();
    await until(() => got.length === 2, 'the second stream');
    expect(aborted).toBe(1);
    url.value = null;
    await nextTick();
    expect(aborted).toBe(2);
    scope.stop();
    expect(opened).toEqual(['/api/a', '/api/b']);
  });
});

describe('vue createBffPlugin and useWebSocket', () => {
  it('the plugin\'s client is the one useBff and useSession use', async () => {
    const bff = fakeBff();
    const client = createBffClient({ fetch: bff.fetch, location: fakeLocation(), syncTabs: false });
    const plugin = createBffPlugin(client);
    const app = createApp({ render: () => null }).use(plugin);
    const [got, session] = app.runWithContext(() => [useBff(), useSession()] as const);
    expect(got).toBe(client);
    expect(plugin.client).toBe(client);
    await until(() => !session.loading.value, 'the load');
    expect(session.user.value?.sub).toBe('alice-sub');
  });

  it('useWebSocket follows its URL and closes with the scope', async () => {
    FakeWebSocket.all = [];
    const client = createBffClient({ fetch: fakeBff().fetch, location: fakeLocation('https://app.test/'), syncTabs: false, WebSocket: FakeWebSocket as never });
    const url = ref<string | null>('/api/a');
    const scope = effectScope();
    const ws = scope.run(() => useWebSocket(url, { client }))!;
    expect(FakeWebSocket.all.map((s) => s.url)).toEqual(['wss://app.test/api/a']);
    url.value = '/api/b';
    await nextTick();
    expect(FakeWebSocket.all.map((s) => s.url)).toEqual(['wss://app.test/api/a', 'wss://app.test/api/b']);
    expect(FakeWebSocket.all[0]!.readyState).toBe(3);
    expect(ws.value).not.toBeNull();
    scope.stop();
    expect(FakeWebSocket.all[1]!.readyState).toBe(3);
    await tick(20);
    expect(FakeWebSocket.all).toHaveLength(2);
  });
});
