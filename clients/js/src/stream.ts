// A reconnecting server-sent-events reader over fetch, as EventSource would behave but
// with the CSRF header: it reconnects after the stream ends or the network fails, waits
// the server's `retry` time, and sends Last-Event-ID so the server can resume.

import { SseParser, readEventStream, type SseEvent } from './sse.js';

/** How a stream is opened and when it stops reconnecting. */
export interface StreamOptions {
  /** Reconnect after the stream ends or fails (default true, as EventSource does). */
  reconnect?: boolean;
  /** Milliseconds before a reconnect until the server sends `retry` (default 3000). */
  retry?: number;
  /** Extra request headers (the CSRF header and Accept are set by the client). */
  headers?: HeadersInit;
  /** Called each time a connection is open (status 200, an event stream). */
  onOpen?: () => void;
}

/** The fetch the stream uses: the client's, with the CSRF header and the 401 rule. */
export type StreamFetch = (url: string, init: RequestInit) => Promise<Response>;

/** Why a stream stopped for good; null when it was stopped or reconnect is off and it ended. */
export type StreamEnd = (err: Error | null) => void;

/**
 * openStream reads url until stop() is called or the server refuses it: any status but 200
 * ends it (204 is the server's "do not reconnect", without an error), and so does a body
 * that is not text/event-stream. Returns stop.
 */
export function openStream(
  doFetch: StreamFetch,
  url: string,
  onEvent: (ev: SseEvent) => void,
  onEnd: StreamEnd = () => {},
  opts: StreamOptions = {},
): () => void {
  const ctrl = new AbortController();
  let retry = opts.retry ?? 3000;
  let lastEventId = '';
  let finished = false;
  const finish = (err: Error | null) => {
    if (finished) return;
    finished = true;
    onEnd(err);
  };

  const connectOnce = async (): Promise<'again' | 'stop'> => {
    const headers = new Headers(opts.headers);
    headers.set('Accept', 'text/event-stream');
    headers.set('Cache-Control', 'no-cache');
    if (lastEventId !== '') headers.set('Last-Event-ID', lastEventId);
    const resp = await doFetch(url, { headers, signal: ctrl.signal, cache: 'no-store' });
    if (resp.status === 204) {
      finish(null);
      return 'stop';
    }
    const type = (resp.headers.get('Content-Type') ?? '').toLowerCase();
    if (resp.status !== 200 || !resp.body || !type.startsWith('text/event-stream')) {
      void resp.body?.cancel().catch(() => {});
      finish(new Error(`stream ${url}: HTTP ${resp.status}${resp.status === 200 ? ` but ${type || 'no Content-Type'}, not text/event-stream` : ''}`));
      return 'stop';
    }
    opts.onOpen?.();
    const parser = new SseParser(onEvent, (ms) => { retry = ms; }, lastEventId);
    try {
      await readEventStream(resp.body, parser);
    } finally {
      lastEventId = parser.lastEventId;
    }
    return 'again';
  };

  void (async () => {
    for (;;) {
      try {
        if ((await connectOnce()) === 'stop') return;
      } catch (err) {
        if (ctrl.signal.aborted) return finish(null);
        if (opts.reconnect === false) return finish(err instanceof Error ? err : new Error(String(err)));
      }
      if (ctrl.signal.aborted) return finish(null);
      if (opts.reconnect === false) return finish(null);
      await sleep(retry, ctrl.signal);
      if (ctrl.signal.aborted) return finish(null);
    }
  })();

  return () => {
    ctrl.abort();
    finish(null);
  };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done);
  });
}
