// A TanStack Query (and SWR) friendly fetcher: the query key's first element is the URL,
// the answer is the parsed JSON, and a failed call throws BffHttpError, which the
// libraries treat as an error (a 401 session end has already been reported by then).

import type { BffClient } from './client.js';

/** The context TanStack Query passes to a queryFn (only what the fetcher reads). */
export interface QueryFnContext {
  queryKey: readonly unknown[];
  signal?: AbortSignal;
}

/** queryFetcher returns a queryFn: useQuery({ queryKey: ['/api/orders'], queryFn }). */
export function queryFetcher<T = unknown>(client: BffClient): (ctx: QueryFnContext) => Promise<T> {
  return ({ queryKey, signal }) => {
    const [url] = queryKey;
    if (typeof url !== 'string') {
      return Promise.reject(new TypeError('queryFetcher: the first element of the query key must be the URL string'));
    }
    return client.json<T>(url, { signal });
  };
}
