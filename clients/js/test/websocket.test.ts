import { beforeEach, describe, expect, it } from 'vitest';
import { createBffClient, toWebSocketURL } from '../src/index.js';
import { FakeWebSocket, channelBus, fakeBff, fakeLocation, until } from './fakes.js';

describe('toWebSocketURL', () => {
  const cases: [string, string, string][] = [
    ['/api/ws', 'https://app.example.com/orders', 'wss://app.example.com/api/ws'],
    ['/api/ws?x=1', 'http://localhost:8080/', 'ws://localhost:8080/api/ws?x=1'],
    ['wss://other.example/ws', 'https://app.example.com/', 'wss://other.example/ws'],
  ];
  for (const [url, base, want] of cases) it(`${url} on ${base}`, () => expect(toWebSocketURL(url, base)).toBe(want));
});

describe('client.websocket', () => {
  beforeEach(() => {
    FakeWebSocket.all = [];
  });

  function setup(Channel?: ReturnType<typeof channelBus>) {
    const bff = fakeBff();
    const client = createBffClient({
      fetch: bff.fetch,
      location: fakeLocation('https://app.test/x'),
      WebSocket: FakeWebSocket as never,
      BroadcastChannel: Channel,
      syncTabs: Channel ? undefined : false,
      redirectOnExpiry: false,
    });
    return { bff, client };
  }

  it('opens a same-origin wss URL and sends on the open socket only', () => {
    const { client } = setup();
    const got: unknown[] = [];
    const ws = client.websocket('/api/ws', { onMessage: (e) => got.push(e.data) });
    const s = FakeWebSocket.all[0]!;
    expect(s.url).toBe('wss://app.test/api/ws');
    expect(ws.send('early')).toBe(false);
    s.open();
    expect(ws.send('hi')).toBe(true);
    s.onmessage?.({ data: 'pong' } as MessageEvent);
    expect(s.sent).toEqual(['hi']);
    expect(got).toEqual(['pong']);
    ws.close();
  });

  it('reconnects after a drop while the session lives', async () => {
    const { client } = setup();
    const ws = client.websocket('/api/ws', { retry: 5 });
    FakeWebSocket.all[0]!.open();
    FakeWebSocket.all[0]!.drop();
    await until(() => FakeWebSocket.all.length === 2, 'a second socket');
    ws.close();
  });

  it('after the session ended, reports it and reconnects only after a login in another tab', async () => {
    const Channel = channelBus();
    const { client, bff } = setup(Channel);
    const other = createBffClient({ fetch: bff.fetch, location: fakeLocation(), BroadcastChannel: Channel });
    await client.user();
    const heard: string[] = [];
    client.onSessionEnd((p) => heard.push(p.type));
    const ws = client.websocket('/api/ws', { retry: 5 });
    FakeWebSocket.all[0]!.open();
    bff.state.loggedIn = false;
    FakeWebSocket.all[0]!.drop();
    await until(() => heard.length > 0, 'the session end');
    await new Promise((r) => setTimeout(r, 40));
    expect(heard).toEqual(['unauthenticated']); // once
    expect(FakeWebSocket.all).toHaveLength(1); // no reconnect without a session
    bff.state.loggedIn = true;
    await other.user(); // the other tab's page after its login
    await until(() => FakeWebSocket.all.length === 2, 'a socket after the re-login');
    ws.close();
    other.close();
    client.close();
  });

  it('close() stops for good', async () => {
    const { client } = setup();
    const ws = client.websocket('/api/ws', { retry: 5 });
    FakeWebSocket.all[0]!.open();
    ws.close();
    await new Promise((r) => setTimeout(r, 40));
    expect(FakeWebSocket.all).toHaveLength(1);
    expect(ws.socket).toBeNull();
  });
});
