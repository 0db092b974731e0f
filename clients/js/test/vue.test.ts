import { effectScope, nextTick, ref } from 'vue';
import { describe, expect, it } from 'vitest';
import { createBffClient } from '../src/index.js';
import { useSession, useStream } from '../src/vue.js';
import { fakeBff, fakeLocation, sseResponse, until } from './fakes.js';

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
