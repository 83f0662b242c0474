const CONNECTION_REASONS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  EPIPE: 'connection reset',
  ECONNABORTED: 'connection reset',
  UND_ERR_SOCKET: 'connection reset',
  UND_ERR_CLOSED: 'connection reset',
  ETIMEDOUT: 'timed out',
  ESOCKETTIMEDOUT: 'timed out',
  UND_ERR_CONNECT_TIMEOUT: 'timed out',
  ENOTFOUND: 'host name not found',
  EAI_AGAIN: 'host name not found',
  EHOSTUNREACH: 'host unreachable',
  EHOSTDOWN: 'host unreachable',
  ENETUNREACH: 'network unreachable',
};

/**
 * Why a request got no answer, in words naming no host, address, port or
 * URL (`connection refused`, `timed out`…); undefined when the error is not
 * a transport failure. Looks through `cause` chains. Fetch errors carry the
 * request URL in their message, so that text is never used.
 *
 * @public
 */
export function connectionFailure(error: unknown): string | undefined {
  let e = error as {
    code?: unknown;
    name?: unknown;
    message?: unknown;
    cause?: unknown;
  };
  for (let depth = 0; e && typeof e === 'object' && depth < 6; depth++) {
    const code = typeof e.code === 'string' ? e.code : '';
    if (CONNECTION_REASONS[code]) {
      return CONNECTION_REASONS[code];
    }
    if (/CERT|^ERR_TLS|^ERR_SSL/.test(code)) {
      return 'TLS certificate not accepted';
    }
    if (e.name === 'TimeoutError') {
      return 'timed out';
    }
    // Wrappers (the SDK's for errors from another realm, fetch's) keep the
    // code only in their text: read it from there, never repeat the text.
    const named = /\b(E[A-Z_]{4,}|UND_ERR_[A-Z_]+)\b/.exec(
      typeof e.message === 'string' ? e.message : '',
    );
    if (named && CONNECTION_REASONS[named[1]]) {
      return CONNECTION_REASONS[named[1]];
    }
    e = e.cause as typeof e;
  }
  return undefined;
}
