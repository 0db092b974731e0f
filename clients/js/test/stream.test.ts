import { describe, expect, it } from 'vitest';
import { openStream } from '../src/stream.js';
import type { SseEvent } from '../src/sse.js';
import { fakeFetch, problem, sseResponse, until } from './fakes.js';

function run(responses: (() => Response)[], opts = {}) {
  let n = 0;
  const f = fakeFetch(() => {
    const r = responses[Math.min(n, responses.length - 1)]!;
    n++;
    return r();
  });
  const events: SseEvent[] = [];
  const ends: (Error | null)[] = [];
  const stop = openStream(f.fetch, '/api/clock', (e) => events.push(e), (e) => ends.push(e), { retry: 5, ...opts });
  return { ...f, events, ends, stop };
}

describe('openStream', () => {
  it('reconnects after the stream ends, with Last-Event-ID, after the server\'s retry', async () => {
    const s = run([
      () => sseResponse(['retry: 20\nid: 1\ndata: a\n\n']),
      () => sseResponse(['id: 2\ndata: b\n\n']),
      () => sseResponse([':\n']),
    ]);
    await until(() => s.calls.length >= 3, 'three connections');
    s.stop();
    expect(s.events.map((e) => e.data)).toEqual(['a', 'b']);
    expect(s.calls[0]!.headers.get('Last-Event-ID')).toBeNull();
    expect(s.calls[1]!.headers.get('Last-Event-ID')).toBe('1');
    expect(s.calls[2]!.headers.get('Last-Event-ID')).toBe('2');
    expect(s.calls[0]!.headers.get('Accept')).toBe('text/event-stream');
    expect(s.ends).toEqual([null]);
  });

  it('waits the retry time the server set before reconnecting', async () => {
    const s = run([() => sseResponse(['retry: 300\ndata: a\n\n']), () => sseResponse([])]);
    await until(() => s.events.length === 1, 'the first event');
    await new Promise((r) => setTimeout(r, 100));
    expect(s.calls.length).toBe(1); // still waiting: 300 ms, not the 5 ms default of this test
    s.stop();
  });

  it('reconnects after a network error', async () => {
    let n = 0;
    const f = fakeFetch(() => {
      if (n++ === 0) throw new TypeError('network down');
      return sseResponse(['data: back\n\n']);
    });
    const events: SseEvent[] = [];
    const stop = openStream(f.fetch, '/s', (e) => events.push(e), () => {}, { retry: 5 });
    await until(() => events.length >= 1, 'an event after the error');
    stop();
    expect(events[0]!.data).toBe('back');
  });

  it('stops for good on 204, without an error', async () => {
    const s = run([() => new Response(null, { status: 204 })]);
    await until(() => s.ends.length === 1, 'the end');
    await new Promise((r) => setTimeout(r, 30));
    expect(s.ends).toEqual([null]);
    expect(s.calls.length).toBe(1);
  });

  it('stops with an error on a refusal (401) and on a body that is not an event stream', async () => {
    for (const resp of [() => problem('unauthenticated', 401), () => new Response('{}', { headers: { 'Content-Type': 'application/json' } })]) {
      const s = run([resp]);
      await until(() => s.ends.length === 1, 'the end');
      await new Promise((r) => setTimeout(r, 30));
      expect(s.ends[0]).toBeInstanceOf(Error);
      expect(s.calls.length).toBe(1);
    }
  });

  it('with reconnect: false, ends when the stream ends', async () => {
    const s = run([() => sseResponse(['data: a\n\n'])], { reconnect: false });
    await until(() => s.ends.length === 1, 'the end');
    expect(s.ends).toEqual([null]);
    expect(s.calls.length).toBe(1);
  });

  it('stop() ends it once, with null, and stops reconnecting', async () => {
    const s = run([() => sseResponse(['data: a\n\n'])], { retry: 10 });
    await until(() => s.events.length >= 1, 'an event');
    s.stop();
    s.stop();
    const calls = s.calls.length;
    await new Promise((r) => setTimeout(r, 50));
    expect(s.calls.length).toBe(calls);
    expect(s.ends).toEqual([null]);
  });
});
