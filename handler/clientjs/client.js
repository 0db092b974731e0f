// @tokenward/client 0.1.0: the BFF serves this file at /bff/client.js.
// Built from clients/js by `npm run build`; do not edit (a Go test checks it matches its sources).

// src/problem.ts
var SESSION_END_TYPES = ["unauthenticated", "session_expired"];
async function problemOf(resp) {
  const type = resp.headers.get("Content-Type") ?? "";
  if (!type.toLowerCase().startsWith("application/problem+json")) return null;
  try {
    const body = await resp.clone().json();
    if (body && typeof body === "object" && typeof body.type === "string") return body;
  } catch {
  }
  return null;
}
var BffHttpError = class extends Error {
  constructor(status, url, problem) {
    super(
      `${url}: HTTP ${status}` + (problem ? ` (${problem.type}${problem.detail ? `: ${problem.detail}` : ""})` : "")
    );
    this.status = status;
    this.url = url;
    this.problem = problem;
    this.name = "BffHttpError";
  }
  status;
  url;
  problem;
};

// src/sse.ts
var SseParser = class {
  constructor(onEvent, onRetry = () => {
  }, lastEventId = "") {
    this.onEvent = onEvent;
    this.onRetry = onRetry;
    this.lastEventId = lastEventId;
    this.idBuffer = lastEventId;
  }
  onEvent;
  onRetry;
  buf = "";
  started = false;
  pendingCR = false;
  data = "";
  hasData = false;
  type = "";
  idBuffer = "";
  /**
   * The last event id: the `id` buffer as of the last dispatch (an event with an id and no
   * data counts; an id in an unfinished event does not). What Last-Event-ID sends.
   */
  lastEventId = "";
  /** push parses a chunk of decoded text; partial lines wait for the next chunk. */
  push(chunk) {
    if (!this.started && chunk.length > 0) {
      this.started = true;
      if (chunk.charCodeAt(0) === 65279) chunk = chunk.slice(1);
    }
    if (this.pendingCR && chunk.startsWith("\n")) chunk = chunk.slice(1);
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
  end() {
    this.buf = "";
    this.resetEvent();
  }
  line(line) {
    if (line === "") {
      this.dispatch();
      return;
    }
    if (line.startsWith(":")) return;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    switch (field) {
      case "data":
        this.data += value + "\n";
        this.hasData = true;
        break;
      case "event":
        this.type = value;
        break;
      case "id":
        if (!value.includes("\0")) this.idBuffer = value;
        break;
      case "retry":
        if (/^[0-9]+$/.test(value)) this.onRetry(Number(value));
        break;
    }
  }
  dispatch() {
    this.lastEventId = this.idBuffer;
    if (!this.hasData) {
      this.resetEvent();
      return;
    }
    const ev = { event: this.type || "message", data: this.data.slice(0, -1), id: this.lastEventId };
    this.resetEvent();
    this.onEvent(ev);
  }
  resetEvent() {
    this.data = "";
    this.hasData = false;
    this.type = "";
  }
};
async function readEventStream(body, parser) {
  const reader = body.getReader();
  const decoder = new TextDecoder("utf-8");
  try {
    for (; ; ) {
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

// src/stream.ts
function openStream(doFetch, url, onEvent, onEnd = () => {
}, opts = {}) {
  const ctrl = new AbortController();
  let retry = opts.retry ?? 3e3;
  let lastEventId = "";
  let finished = false;
  const finish = (err) => {
    if (finished) return;
    finished = true;
    onEnd(err);
  };
  const connectOnce = async () => {
    const headers = new Headers(opts.headers);
    headers.set("Accept", "text/event-stream");
    headers.set("Cache-Control", "no-cache");
    if (lastEventId !== "") headers.set("Last-Event-ID", lastEventId);
    const resp = await doFetch(url, { headers, signal: ctrl.signal, cache: "no-store" });
    if (resp.status === 204) {
      finish(null);
      return "stop";
    }
    const type = (resp.headers.get("Content-Type") ?? "").toLowerCase();
    if (resp.status !== 200 || !resp.body || !type.startsWith("text/event-stream")) {
      void resp.body?.cancel().catch(() => {
      });
      finish(new Error(`stream ${url}: HTTP ${resp.status}${resp.status === 200 ? ` but ${type || "no Content-Type"}, not text/event-stream` : ""}`));
      return "stop";
    }
    opts.onOpen?.();
    const parser = new SseParser(onEvent, (ms) => {
      retry = ms;
    }, lastEventId);
    try {
      await readEventStream(resp.body, parser);
    } finally {
      lastEventId = parser.lastEventId;
    }
    return "again";
  };
  void (async () => {
    for (; ; ) {
      try {
        if (await connectOnce() === "stop") return;
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
function sleep(ms, signal) {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done);
  });
}

// src/sync.ts
function openTabChannel(name, Channel, onMessage) {
  if (!Channel) return { post() {
  }, close() {
  } };
  const ch = new Channel(name);
  ch.onmessage = (ev) => {
    const type = ev.data?.type;
    if (type === "login" || type === "end") onMessage({ type });
  };
  return {
    post: (msg) => ch.postMessage(msg),
    close: () => ch.close()
  };
}

// src/websocket.ts
function toWebSocketURL(url, base) {
  const u = new URL(url, base);
  if (u.protocol === "http:") u.protocol = "ws:";
  else if (u.protocol === "https:") u.protocol = "wss:";
  return u.toString();
}
function openWebSocket(deps, url, h = {}) {
  const target = toWebSocketURL(url, deps.base);
  const first = h.retry ?? 1e3;
  let delay = first;
  let socket = null;
  let closed = false;
  let timer;
  let unwait;
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
    }
    if (closed) return;
    if (!alive) {
      unwait = deps.onNextLogin(() => {
        unwait = void 0;
        delay = first;
        connect();
      });
      return;
    }
    timer = setTimeout(connect, delay);
    delay = Math.min(delay * 2, 3e4);
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
    }
  };
}

// src/client.ts
var DEFAULT_CSRF_HEADER = "X-CSRF";
var TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
var REASON = /^[a-z][a-z-]{0,31}$/;
function eventData(raw) {
  try {
    const v = JSON.parse(raw);
    return v !== null && typeof v === "object" && !Array.isArray(v) ? v : {};
  } catch {
    return {};
  }
}
function createBffClient(options = {}) {
  const prefix = (options.prefix ?? "/bff").replace(/\/+$/, "");
  const redirectOnExpiry = options.redirectOnExpiry !== false;
  const doFetch = options.fetch ?? globalThis.fetch.bind(globalThis);
  const loc = () => options.location ?? globalThis.location;
  const events = new EventTarget();
  let known;
  let headerName = options.csrfHeader ? Promise.resolve(options.csrfHeader) : void 0;
  let stopEvents;
  let silentDecided = false;
  const tabs = openTabChannel(
    options.syncTabs === false ? "" : options.syncTabs ?? "tokenward-session",
    options.syncTabs === false ? void 0 : options.BroadcastChannel ?? globalThis.BroadcastChannel,
    onTabMessage
  );
  function csrfHeader() {
    headerName ??= discoverHeader().catch((err) => {
      headerName = void 0;
      throw err;
    });
    return headerName;
  }
  async function discoverHeader() {
    const resp = await doFetch(`${prefix}/client-config`, { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (!resp.ok) return DEFAULT_CSRF_HEADER;
    const body = await resp.json().catch(() => null);
    const name = body?.csrfHeader;
    return typeof name === "string" && TOKEN.test(name) ? name : DEFAULT_CSRF_HEADER;
  }
  function setUser(u) {
    const before = known;
    known = u;
    if (u && (!before || before.sub !== u.sub)) tabs.post({ type: "login" });
    if (before === void 0 || (before?.sub ?? null) !== (u?.sub ?? null)) {
      events.dispatchEvent(new CustomEvent("user", { detail: u }));
      watchSessionEvents();
    }
  }
  function ended(problem, fromOtherTab = false) {
    if (fromOtherTab && known === null) return;
    if (!fromOtherTab) tabs.post({ type: "end" });
    const had = known !== null;
    known = null;
    events.dispatchEvent(new CustomEvent("sessionend", { detail: problem }));
    if (had) events.dispatchEvent(new CustomEvent("user", { detail: null }));
    watchSessionEvents();
  }
  function onTabMessage(msg) {
    if (msg.type === "end") {
      ended({ type: "unauthenticated", detail: "the session ended in another tab" }, true);
    } else {
      void user().catch(() => {
      });
    }
  }
  function currentPath() {
    const l = loc();
    return (l.pathname + l.search + l.hash).replace(/[^A-Za-z0-9\-._~:/?#[\]@!$&'()*+,;=%]/gu, encodeURIComponent);
  }
  function login(returnTo = currentPath(), opts = {}) {
    const q = new URLSearchParams();
    if (opts.prompt) q.set("prompt", opts.prompt);
    for (const [k, v] of Object.entries(opts.params ?? {})) q.set(k, v);
    q.set("returnTo", returnTo);
    loc().assign(`${prefix}/login?${q.toString()}`);
  }
  async function bffFetch(input, init = {}) {
    const { noLoginRedirect, ...rest } = init;
    const headers = new Headers(rest.headers);
    headers.set(await csrfHeader(), "1");
    const resp = await doFetch(input, { ...rest, headers, credentials: "same-origin" });
    if (resp.status === 401) {
      const problem = await problemOf(resp);
      if (problem && SESSION_END_TYPES.includes(problem.type)) {
        ended(problem);
        if (redirectOnExpiry && !noLoginRedirect) login();
      }
    }
    return resp;
  }
  async function json(input, init) {
    const resp = await bffFetch(input, init);
    if (!resp.ok) throw new BffHttpError(resp.status, String(input instanceof Request ? input.url : input), await problemOf(resp));
    return await resp.json();
  }
  async function user() {
    const resp = await doFetch(`${prefix}/user`, {
      headers: { [await csrfHeader()]: "1", Accept: "application/json" },
      credentials: "same-origin"
    });
    if (resp.status === 401) {
      if (known) ended(await problemOf(resp) ?? { type: "unauthenticated" });
      else setUser(null);
      return null;
    }
    if (!resp.ok) throw new BffHttpError(resp.status, `${prefix}/user`, await problemOf(resp));
    const u = await resp.json();
    setUser(u);
    return u;
  }
  function takeSilentLoginResult() {
    const l = loc();
    const params = new URLSearchParams(l.search);
    const result = params.get("bff_login");
    if (result === null) return null;
    params.delete("bff_login");
    const q = params.toString();
    const h = options.history ?? globalThis.history;
    h?.replaceState(null, "", l.pathname + (q ? `?${q}` : "") + l.hash);
    return result;
  }
  async function restoreSession() {
    const first = !silentDecided;
    silentDecided = true;
    const marker = takeSilentLoginResult();
    const u = await user();
    if (!u && marker === null && first) login(currentPath(), { prompt: "none" });
    return u;
  }
  async function logout(opts = {}) {
    const url = `${prefix}/logout${opts.everywhere ? "?everywhere=1" : ""}`;
    const resp = await bffFetch(url, { method: "POST", noLoginRedirect: true });
    const body = resp.ok ? await resp.json().catch(() => ({})) : {};
    ended({ type: "logout" });
    loc().assign(body.logoutUrl || "/");
  }
  async function sessions() {
    const body = await json(`${prefix}/sessions`, { noLoginRedirect: true });
    return body.sessions;
  }
  async function endSession(handle) {
    const resp = await bffFetch(`${prefix}/sessions/${encodeURIComponent(handle)}`, { method: "DELETE", noLoginRedirect: true });
    if (!resp.ok) throw new BffHttpError(resp.status, `${prefix}/sessions/…`, await problemOf(resp));
    await user();
  }
  function stream(url, onEvent, onEnd, opts) {
    return openStream((u, init) => bffFetch(u, init), url, onEvent, onEnd, opts);
  }
  function on(name, fn) {
    const listener = (e) => fn(e.detail);
    events.addEventListener(name, listener);
    return () => events.removeEventListener(name, listener);
  }
  function websocket(url, handlers) {
    return openWebSocket(
      {
        WebSocket: options.WebSocket ?? globalThis.WebSocket,
        base: loc().href,
        hasSession: async () => {
          const before = known;
          if (await user()) return true;
          if (before === void 0) ended({ type: "unauthenticated", detail: "the websocket closed and there is no session" });
          return false;
        },
        onNextLogin: (fn) => {
          const off = on("user", (u) => {
            if (u) {
              off();
              fn();
            }
          });
          return off;
        }
      },
      url,
      handlers
    );
  }
  function watchSessionEvents() {
    if (!options.sessionEvents) return;
    if (known && !stopEvents) {
      stopEvents = openStream(
        (u, init) => bffFetch(u, { ...init, noLoginRedirect: true }),
        options.sessionEvents === true ? `${prefix}/session/events` : options.sessionEvents,
        (ev) => {
          const data = eventData(ev.data);
          events.dispatchEvent(new CustomEvent("sessionevent", { detail: { event: ev.event, data } }));
          if (ev.event === "session_end" || ev.event === "ended") {
            const reason = typeof data.reason === "string" && REASON.test(data.reason) ? data.reason : void 0;
            ended({ type: "unauthenticated", detail: "the session ended", ...reason ? { reason } : {} });
          }
        }
      );
    } else if (!known && stopEvents) {
      const stop = stopEvents;
      stopEvents = void 0;
      stop();
    }
  }
  return {
    fetch: bffFetch,
    json,
    user,
    session: user,
    get currentUser() {
      return known;
    },
    login,
    restoreSession,
    takeSilentLoginResult,
    logout,
    sessions,
    endSession,
    stream,
    websocket,
    onSessionEnd: (fn) => on("sessionend", fn),
    onSessionEvent: (fn) => on("sessionevent", fn),
    onUserChange: (fn) => on("user", fn),
    csrfHeader,
    close() {
      tabs.close();
      stopEvents?.();
      stopEvents = void 0;
    }
  };
}

// src/query.ts
function queryFetcher(client) {
  return ({ queryKey, signal }) => {
    const [url] = queryKey;
    if (typeof url !== "string") {
      return Promise.reject(new TypeError("queryFetcher: the first element of the query key must be the URL string"));
    }
    return client.json(url, { signal });
  };
}
export {
  BffHttpError,
  SESSION_END_TYPES,
  SseParser,
  createBffClient,
  problemOf,
  queryFetcher,
  readEventStream,
  toWebSocketURL
};
