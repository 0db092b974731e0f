// @tokenward/client: the browser client for an SPA behind the Tokenward BFF. The BFF serves
// this entry point, bundled, at /bff/client.js.
export { createBffClient } from './client.js';
export type { BffClient, BffClientOptions, BffRequestInit, LoginOptions, LogoutOptions, LocationLike, SessionEvent, SessionInfo, User } from './client.js';
export { BffHttpError, problemOf, SESSION_END_TYPES } from './problem.js';
export type { Problem } from './problem.js';
export { SseParser, readEventStream } from './sse.js';
export type { SseEvent } from './sse.js';
export type { StreamOptions, StreamEnd } from './stream.js';
export { toWebSocketURL } from './websocket.js';
export type { ManagedWebSocket, WebSocketHandlers } from './websocket.js';
export { queryFetcher } from './query.js';
export type { QueryFnContext } from './query.js';
