// A websocket through the BFF that comes back by itself. A websocket handshake cannot
// carry the CSRF header (the BFF checks its Origin instead) and cannot tell why it was
// refused, so after a close the helper asks /bff/user: with a session it reconnects after
// a back-off; without one it reports the session end and waits for the next login (in
// this tab or, through the tab sync, in another) before it reconnects.

/** What the caller hears from a managed websocket. */
export interface WebSocketHandlers {
  protocols?: string | string[];
  onOpen?: (ws: WebSocket) => void;
  onMessage?: (ev: MessageEvent) => void;
  onClose?: (ev: CloseEvent) => void;
  /** First reconnect delay in ms (default 1000), doubled per failure up to 30 s. */
  retry?: number;
}

/** A managed websocket: send on the current socket, close stops reconnecting. */
export interface ManagedWebSocket {
  /** Sends on the open socket; false when none is open (nothing is queued). */
  send(data: Parameters<WebSocket["send"]>[0]): boolean;
  /** Closes the socket for good. */
  close(code?: number, reason?: string): void;
  /** The current socket (null while waiting for a reconnect or a login). */
  readonly socket: WebSocket | null;
}

/** What the helper needs from the client. */
export interface WebSocketDeps {
  WebSocket: new (url: string, protocols?: string | string[]) => WebSocket;
  /** Resolves true when there is a session (it reports a session end itself). */
  hasSession: () => Promise<boolean>;
  /** Calls fn once at the next login; returns an unsubscribe function. */
  onNextLogin: (fn: () => void) => () => void;
  /** The page's URL, to resolve url against and turn http(s) into ws(s). */
  base: string;
}

/** toWebSocketURL resolves url against base and maps http: to ws: and https: to wss:. */
export function toWebSocketURL(url: string, base: string): string {
  const u = new URL(url, base);
  if (u.protocol === 'http:') u.protocol = 'ws:';
  else if (u.protocol === 'https:') u.protocol = 'wss:';
  return u.toString();
}

export function openWebSocket(deps: WebSocketDeps, url: string, h: WebSocketHandlers = {}): ManagedWebSocket {
  const target = toWebSocketURL(url, deps.base);
  const first = h.retry ?? 1000;
  let delay = first;
  let socket: WebSocket | null = null;
  let closed = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let unwait: (() => void) | undefined;

  const connect = () => {
    if (closed) return;
    const ws = new deps.WebSocket(target, h.protocols);
    socket = ws;
    ws.onopen = () => {
      delay = first;
      h.onOpen?.(ws);
    };
    ws.onmessage = (ev) => h.onMessage?.(ev);
    ws.onclose = (ev) => {
      socket = null;
      h.onClose?.(ev);
      if (!closed) void afterClose();
    };
  };

  const afterClose = async () => {
    let alive = true;
    try {
      alive = await deps.hasSession();
    } catch {
      // The BFF did not answer: try again after the back-off, as after a network error.
    }
    if (closed) return;
    if (!alive) {
      unwait = deps.onNextLogin(() => {
        unwait = undefined;
        delay = first;
        connect();
      });
      return;
    }
    timer = setTimeout(connect, delay);
    delay = Math.min(delay * 2, 30_000);
  };

  connect();
  return {
    send(data) {
      if (!socket || socket.readyState !== 1) return false;
      socket.send(data);
      return true;
    },
    close(code, reason) {
      closed = true;
      clearTimeout(timer);
      unwait?.();
      socket?.close(code, reason);
    },
    get socket() {
      return socket;
    },
  };
}
