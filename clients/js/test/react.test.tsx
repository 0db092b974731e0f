// @vitest-environment happy-dom
import { act } from 'react';
import { createRoot } from 'react-dom/client';
import { afterEach, describe, expect, it } from 'vitest';
import { createBffClient } from '../src/index.js';
import { BffProvider, useSession, useStream, useWebSocket } from '../src/react.js';
import { FakeWebSocket, fakeBff, fakeLocation, sseResponse, tick } from './fakes.js';

// rendered polls cond, letting React render between polls (an act() scope holds renders back).
async function rendered(cond: () => boolean, what: string) {
  for (let i = 0; i < 400; i++) {
    if (cond()) return;
    await act(() => tick(5));
  }
  throw new Error(`timed out waiting for ${what}`);
}

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

let cleanup: (() => void) | undefined;
afterEach(() => cleanup?.());

function mount(node: React.ReactNode) {
  const el = document.createElement('div');
  const root = createRoot(el);
  act(() => root.render(node));
  cleanup = () => act(() => root.unmount());
  return el;
}

function Who() {
  const { loading, user } = useSession();
  return <p>{loading ? 'loading' : user ? `hello ${user.sub}` : 'logged out'}</p>;
}

describe('BffProvider and useSession', () => {
  it('loads the user, then follows a session end', async () => {
    const bff = fakeBff();
    const client = createBffClient({ fetch: bff.fetch, location: fakeLocation(), syncTabs: false, redirectOnExpiry: false });
    const el = mount(<BffProvider client={client}><Who /></BffProvider>);
    expect(el.textContent).toBe('loading');
    await rendered(() => el.textContent === 'hello alice-sub', 'the user');
    bff.state.loggedIn = false;
    await act(async () => { await client.fetch('/api/x'); });
    expect(el.textContent).toBe('logged out');
  });

  it('with silentLogin, tries prompt=none when there is no session', async () => {
    const bff = fakeBff({ loggedIn: false });
    const location = fakeLocation('/a');
    const client = createBffClient({ fetch: bff.fetch, location, syncTabs: false });
    const el = mount(<BffProvider client={client} silentLogin><Who /></BffProvider>);
    await rendered(() => el.textContent === 'logged out', 'the answer');
    expect(location.assigned).toEqual(['/bff/login?prompt=none&returnTo=%2Fa']);
  });

  it('useSession outside the provider says how to fix it', () => {
    const el = document.createElement('div');
    const root = createRoot(el);
    const errors: unknown[] = [];
    const orig = console.error;
    console.error = () => {};
    try {
      act(() => root.render(<Boundary onError={(e) => errors.push(e)}><Who /></Boundary>));
    } finally {
      console.error = orig;
      act(() => root.unmount());
    }
    expect(String(errors[0])).toMatch(/inside <BffProvider>/);
  });
});

describe('useStream', () => {
  it('reads events while mounted and stops on unmount', async () => {
    let aborted = 0;
    const bff = fakeBff();
    const fetch: typeof globalThis.fetch = async (input, init) => {
      if (String(input) === '/api/clock') {
        init?.signal?.addEventListener('abort', () => aborted++);
        return sseResponse(['data: tick\n\n', ':\n']);
      }
      return bff.fetch(input, init);
    };
    const client = createBffClient({ fetch, location: fakeLocation(), syncTabs: false, csrfHeader: 'X-CSRF' });
    const got: string[] = [];
    function Clock() {
      useStream('/api/clock', (ev) => got.push(ev.data), { retry: 10_000 });
      return null;
    }
    mount(<BffProvider client={client}><Clock /></BffProvider>);
    await rendered(() => got.length === 1, 'an event');
    cleanup!();
    cleanup = undefined;
    expect(aborted).toBe(1);
  });
});

describe('useWebSocket', () => {
  it('opens a socket while mounted and closes it on unmount', async () => {
    FakeWebSocket.all = [];
    const client = createBffClient({ fetch: fakeBff().fetch, location: fakeLocation('https://app.test/'), syncTabs: false, WebSocket: FakeWebSocket as never });
    const got: string[] = [];
    function Chat() {
      useWebSocket('/api/ws', { onMessage: (e) => got.push(String(e.data)) });
      return null;
    }
    mount(<BffProvider client={client}><Chat /></BffProvider>);
    await rendered(() => FakeWebSocket.all.length === 1, 'a socket');
    const s = FakeWebSocket.all[0]!;
    expect(s.url).toBe('wss://app.test/api/ws');
    s.open();
    s.onmessage?.({ data: 'hi' } as MessageEvent);
    expect(got).toEqual(['hi']);
    cleanup!();
    cleanup = undefined;
    expect(s.readyState).toBe(3);
    await tick(20);
    expect(FakeWebSocket.all).toHaveLength(1); // closed for good, no reconnect
  });
});

import { Component, type ReactNode } from 'react';
class Boundary extends Component<{ onError: (e: unknown) => void; children: ReactNode }, { failed: boolean }> {
  override state = { failed: false };
  static getDerivedStateFromError() { return { failed: true }; }
  override componentDidCatch(e: unknown) { this.props.onError(e); }
  override render() { return this.state.failed ? null : this.props.children; }
}
