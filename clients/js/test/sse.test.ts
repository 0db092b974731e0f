import { describe, expect, it } from 'vitest';
import { SseParser, readEventStream, type SseEvent } from '../src/sse.js';

function parse(chunks: string[]) {
  const events: SseEvent[] = [];
  const retries: number[] = [];
  const p = new SseParser((e) => events.push(e), (ms) => retries.push(ms));
  for (const c of chunks) p.push(c);
  p.end();
  return { events, retries, lastEventId: p.lastEventId };
}

const ev = (data: string, event = 'message', id = ''): SseEvent => ({ event, data, id });

// Each case: a stream as the server sends it, and what EventSource would dispatch.
const cases: { name: string; input: string; want: SseEvent[]; retries?: number[] }[] = [
  { name: 'LF line ends', input: 'data: a\n\ndata: b\n\n', want: [ev('a'), ev('b')] },
  { name: 'CRLF line ends', input: 'data: a\r\n\r\ndata: b\r\n\r\n', want: [ev('a'), ev('b')] },
  { name: 'CR line ends', input: 'data: a\r\rdata: b\r\r', want: [ev('a'), ev('b')] },
  { name: 'mixed line ends', input: 'data: a\r\ndata: b\rdata: c\n\r\n', want: [ev('a\nb\nc')] },
  { name: 'multi-line data joins with LF', input: 'data: one\ndata: two\ndata:\n\n', want: [ev('one\ntwo\n')] },
  { name: 'only one leading space is dropped', input: 'data:  two spaces\ndata:none\n\n', want: [ev(' two spaces\nnone')] },
  { name: 'a field without a colon has an empty value', input: 'data\n\n', want: [ev('')] },
  { name: 'event type, then back to message', input: 'event: tick\ndata: 1\n\ndata: 2\n\n', want: [ev('1', 'tick'), ev('2')] },
  { name: 'id persists across events', input: 'id: 7\ndata: a\n\ndata: b\n\n', want: [ev('a', 'message', '7'), ev('b', 'message', '7')] },
  { name: 'an empty id resets it', input: 'id: 7\ndata: a\n\nid\ndata: b\n\n', want: [ev('a', 'message', '7'), ev('b')] },
  { name: 'an id with NUL is ignored', input: 'id: 7\ndata: a\n\nid: x\0y\ndata: b\n\n', want: [ev('a', 'message', '7'), ev('b', 'message', '7')] },
  { name: 'comments are ignored', input: ': keep-alive\ndata: a\n:x\n\n', want: [ev('a')] },
  { name: 'unknown fields are ignored', input: 'foo: bar\ndata: a\n\n', want: [ev('a')] },
  { name: 'no data: nothing dispatched, type reset', input: 'event: x\n\ndata: a\n\n', want: [ev('a')] },
  { name: 'an unfinished event at the end is dropped', input: 'data: a\n\ndata: b\n', want: [ev('a')] },
  { name: 'a leading BOM is dropped', input: '\uFEFFdata: a\n\n', want: [ev('a')] },
  { name: 'a BOM later is data', input: 'data: \uFEFFa\n\n', want: [ev('\uFEFFa')] },
  { name: 'numeric retry', input: 'retry: 1500\ndata: a\n\n', want: [ev('a')], retries: [1500] },
  { name: 'non-numeric retry is ignored', input: 'retry: 1.5\nretry: x\nretry:\n\n', want: [], retries: [] },
  { name: 'colons after the first belong to the value', input: 'data: a: b\n\n', want: [ev('a: b')] },
];

describe('SseParser', () => {
  for (const c of cases) {
    it(`${c.name} (whole)`, () => {
      const got = parse([c.input]);
      expect(got.events).toEqual(c.want);
      if (c.retries) expect(got.retries).toEqual(c.retries);
    });
    it(`${c.name} (one character per chunk)`, () => {
      expect(parse([...c.input]).events).toEqual(c.want);
    });
  }

  it('treats a CR ending one chunk and an LF starting the next as one line end', () => {
    // Two line ends would make a blank line and dispatch "a" early, joined differently.
    expect(parse(['data: a\r', '\ndata: b\r', '\n\r', '\n']).events).toEqual([ev('a\nb')]);
  });

  it('keeps the last event id only as of a dispatch', () => {
    expect(parse(['id: 1\ndata: a\n\nid: 2\n\nid: 3\ndata: b\n']).lastEventId).toBe('2');
  });

  it('starts from the id it is given (a reconnect)', () => {
    const events: SseEvent[] = [];
    const p = new SseParser((e) => events.push(e), undefined, '41');
    p.push('data: a\n\n');
    expect(events).toEqual([ev('a', 'message', '41')]);
  });
});

describe('readEventStream', () => {
  it('decodes UTF-8 split across chunks', async () => {
    const bytes = new TextEncoder().encode('data: gr\u00fc\u00df \u{1F600}\r\n\r\n');
    const body = new ReadableStream<Uint8Array>({
      start(ctrl) {
        for (const b of bytes) ctrl.enqueue(new Uint8Array([b]));
        ctrl.close();
      },
    });
    const events: SseEvent[] = [];
    await readEventStream(body, new SseParser((e) => events.push(e)));
    expect(events).toEqual([ev('gr\u00fc\u00df \u{1F600}')]);
  });
});
