// Multi-tab session sync over a BroadcastChannel (same origin only). Messages say only
// what happened, never who or with what: the other tabs ask /bff/user themselves.

/** A message between tabs of one origin. */
export type TabMessage = { type: 'login' } | { type: 'end' };

/** The part of the BroadcastChannel constructor the client uses (replaceable in tests). */
export type ChannelConstructor = new (name: string) => {
  postMessage(msg: unknown): void;
  close(): void;
  onmessage: ((ev: MessageEvent) => void) | null;
};

/** A tab channel: post to the other tabs, hear theirs; a no-op where BroadcastChannel is missing. */
export interface TabChannel {
  post(msg: TabMessage): void;
  close(): void;
}

export function openTabChannel(
  name: string,
  Channel: ChannelConstructor | undefined,
  onMessage: (msg: TabMessage) => void,
): TabChannel {
  if (!Channel) return { post() {}, close() {} };
  const ch = new Channel(name);
  ch.onmessage = (ev: MessageEvent) => {
    const type = (ev.data as { type?: unknown } | null)?.type;
    if (type === 'login' || type === 'end') onMessage({ type });
  };
  return {
    post: (msg) => ch.postMessage(msg),
    close: () => ch.close(),
  };
}
