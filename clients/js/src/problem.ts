// RFC 9457 problem details as the BFF sends them, and the error the client throws for a
// failed call. Neither ever holds a token: the BFF puts none in a problem.

/** A problem+json body (the BFF's `type` is a short name such as "session_expired"). */
export interface Problem {
  type: string;
  title?: string;
  status?: number;
  detail?: string;
  [key: string]: unknown;
}

/** The problem types after which there is no session: log in again. */
export const SESSION_END_TYPES: readonly string[] = ['unauthenticated', 'session_expired'];

/** problemOf reads resp's problem+json body (from a clone), or null when it has none. */
export async function problemOf(resp: Response): Promise<Problem | null> {
  const type = resp.headers.get('Content-Type') ?? '';
  if (!type.toLowerCase().startsWith('application/problem+json')) return null;
  try {
    const body: unknown = await resp.clone().json();
    if (body && typeof body === 'object' && typeof (body as Problem).type === 'string') return body as Problem;
  } catch {
    // A malformed body is no problem document: the status alone tells.
  }
  return null;
}

/** BffHttpError is thrown by the JSON helpers for a non-2xx answer. */
export class BffHttpError extends Error {
  constructor(
    readonly status: number,
    readonly url: string,
    readonly problem: Problem | null,
  ) {
    super(
      `${url}: HTTP ${status}` +
        (problem ? ` (${problem.type}${problem.detail ? `: ${problem.detail}` : ''})` : ''),
    );
    this.name = 'BffHttpError';
  }
}
