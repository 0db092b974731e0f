// A server-sent events parser that follows the WHATWG HTML "event stream interpretation"
// rules: lines end in CRLF, LF or CR (a CR at the end of one chunk and an LF at the start
// of the next are one line end), a leading BOM is dropped, `data` lines join with "\n",
// `id` sets the last event id (and keeps it for later events), `retry` sets the
// reconnection time, comments and unknown fields are ignored, and an event without data
// is not dispatched. EventSource cannot send the CSRF header, which is why the client
// reads streams with fetch and needs its own parser.

/** One dispatched event. */
export interface SseEvent {
  /** The event type: the `event` field, or "message". */
  event: string;
  /** The data lines joined with "\n". */
  data: string;
  /** The last event id seen on this stream so far ("" when none). */
  id: string;
}

/** Feeds decoded text in, calls onEvent for each complete event and onRetry for `retry`. */
export class SseParser {
  private buf = '';
  private started = false;
  private pendingCR = false;
  private data = '';
  private hasData = false;
  private type = '';
  private idBuffer = '';
  /**
   * The last event id: the `id` buffer as of the last dispatch (an event with an id and no
   * data counts; an id in an unfinished event does not). What Last-Event-ID sends.
   */
  lastEventId = '';

  constructor(
    private readonly onEvent: (ev: SseEvent) => void,
    private readonly onRetry: (ms: number) => void = () => {},
    lastEventId = '',
  ) {
    this.lastEventId = lastEventId;
    this.idBuffer = lastEventId;
  }

  /** push parses a chunk of decoded text; partial lines wait for the next chunk. */
  push(chunk: string): void {
    if (!this.started && chunk.length > 0) {
      this.started = true;
      if (chunk.charCodeAt(0) === 0xfeff) chunk = chunk.slice(1);
    }
    if (this.pendingCR && chunk.startsWith('\n')) chunk = chunk.slice(1); // CRLF split across chunks
    this.pendingCR = false;
    this.buf += chunk;
    let start = 0;
    for (let i = 0; i < this.buf.length; i++) {
      const c = this.buf.charCodeAt(i);
      if (c !== 10 && c !== 13) continue;
      this.line(this.buf.slice(start, i));
      if (c === 13) {
        if (i + 1 === this.buf.length) this.pendingCR = true;
        else if (this.buf.charCodeAt(i + 1) === 10) i++;
      }
      start = i + 1;
    }
    this.buf = this.buf.slice(start);
  }

  /** end discards an incomplete event: the spec dispatches only blank-line-terminated ones. */
  end(): void {
    this.buf = '';
    this.resetEvent();
  }

  private line(line: string): void {
    if (line === '') {
      this.dispatch();
      return;
    }
    if (line.startsWith(':')) return; // a comment (keep-alive)
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    switch (field) {
      case 'data':
        this.data += value + '\n';
        this.hasData = true;
        break;
      case 'event':
        this.type = value;
        break;
      case 'id':
        if (!value.includes('\0')) this.idBuffer = value;
        break;
      case 'retry':
        if (/^[0-9]+$/.test(value)) this.onRetry(Number(value));
        break;
    }
  }

  private dispatch(): void {
    this.lastEventId = this.idBuffer;
    if (!this.hasData) {
      this.resetEvent();
      return;
    }
    const ev = { event: this.type || 'message', data: this.data.slice(0, -1), id: this.lastEventId };
    this.resetEvent();
    this.onEvent(ev);
  }

  private resetEvent(): void {
    this.data = '';
    this.hasData = false;
    this.type = '';
  }
}

/**
 * readEventStream decodes body as UTF-8 and feeds it to parser until the body ends (then
 * it returns) or fails (then it throws, e.g. an AbortError).
 */
export async function readEventStream(body: ReadableStream<Uint8Array>, parser: SseParser): Promise<void> {
  const reader = body.getReader();
  const decoder = new TextDecoder('utf-8');
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      parser.push(decoder.decode(value, { stream: true }));
    }
    parser.push(decoder.decode());
  } finally {
    parser.end();
    reader.releaseLock();
  }
}
