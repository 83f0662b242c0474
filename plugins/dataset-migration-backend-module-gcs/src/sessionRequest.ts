import http from 'node:http';
import https from 'node:https';
import { InputError } from '@backstage/errors';

/** Keep-alive sockets for session requests, shared by every upload. */
const agents = {
  'http:': new http.Agent({ keepAlive: true }),
  'https:': new https.Agent({ keepAlive: true }),
};

/** The keep-alive agent for a URL's protocol, or undefined for another scheme. */
export function agentFor(url: URL): http.Agent | undefined {
  return agents[url.protocol as keyof typeof agents];
}

/** Bytes queued on a request's socket before waiting for it to drain. */
const QUEUED_BYTES = 1024 * 1024;

/** Whether the environment routes HTTP through a proxy (Node's client would not). */
export function proxyConfigured(env: NodeJS.ProcessEnv = process.env) {
  return Boolean(
    env.HTTPS_PROXY || env.https_proxy || env.HTTP_PROXY || env.http_proxy,
  );
}

/** What a session request was answered. */
export interface Answer {
  status: number;
  /** A 308's `Range: bytes=0-n`. */
  range?: string;
  body: string;
}

/** A write after the request ended (answered early, reset): stop sending. */
class RequestEnded extends Error {}

/**
 * Writes one buffer of a request's body, waiting on backpressure. With
 * `flushed`, it returns only once the socket has taken the buffer (or the
 * request ended), so the caller may reuse its memory.
 */
export type SessionWrite = (
  buffer: Buffer,
  options?: { flushed?: boolean },
) => Promise<void>;

export interface SessionRequest {
  /** The session URI (or, with POST, the upload URL). */
  uri: string;
  signal?: AbortSignal;
  /** PUT (default): a session request; POST: a one-request upload. */
  method?: 'PUT' | 'POST';
}

/** Bytes GCS has, from a 308's `Range: bytes=0-n`. */
export function confirmedBy(answer: Answer) {
  const m = /^bytes=0-(\d+)$/.exec(answer.range ?? '');
  return m ? Number(m[1]) + 1 : 0;
}

/** An answer's JSON API error as the client reports one (`code`, `message`). */
export function statusError(answer: Answer) {
  let message = `HTTP ${answer.status}`;
  try {
    message = JSON.parse(answer.body)?.error?.message ?? message;
  } catch {
    if (answer.body) message = answer.body.slice(0, 200);
  }
  return Object.assign(new Error(message), { code: answer.status });
}

/**
 * One PUT to the session URI (which is its own credential: GCS needs no
 * Authorization on it), or with `method: 'POST'` one upload request (its
 * authorisation in `headers`). `send` writes the body, waiting on
 * backpressure; an answer that comes before the body is all sent ends the
 * request (`write` then throws, and `send` should let that end it).
 */
export function uploadRequest(
  options: SessionRequest,
  headers: Record<string, string>,
  send?: (write: SessionWrite) => Promise<void>,
): Promise<Answer> {
  const url = new URL(options.uri);
  const agent = agentFor(url);
  if (!agent) {
    return Promise.reject(
      new InputError(`Unsupported upload session URI scheme ${url.protocol}`),
    );
  }
  let sent: Promise<unknown> = Promise.resolve();
  const answered = new Promise<Answer>((resolve, reject) => {
    const request = (url.protocol === 'https:' ? https : http).request(url, {
      method: options.method ?? 'PUT',
      agent,
      headers,
      signal: options.signal,
    });
    let settled = false;
    const settle = (error?: unknown, answer?: Answer) => {
      if (settled) return;
      settled = true;
      // Answered before the body was all sent: the socket cannot be reused.
      if (error || !request.writableFinished) request.destroy();
      if (error) reject(error);
      else resolve(answer!);
    };
    let drained: (() => void) | undefined;
    let responded = false;
    request.on('drain', () => drained?.());
    request.on('error', e => {
      drained?.();
      settle(e);
    });
    request.on('response', response => {
      responded = true;
      const parts: Buffer[] = [];
      response.on('data', (d: Buffer) => parts.push(d));
      response.on('error', e => settle(e));
      response.on('end', () =>
        settle(undefined, {
          status: response.statusCode ?? 0,
          range: response.headers.range,
          body: Buffer.concat(parts).toString('utf8'),
        }),
      );
      // An early answer (an error before the body was all sent): stop.
      if (!request.writableFinished) drained?.();
    });
    const write: SessionWrite = async (buffer, writeOptions) => {
      if (settled || responded || request.destroyed) {
        throw new RequestEnded();
      }
      if (writeOptions?.flushed) {
        await new Promise<void>(taken => {
          const done = () => {
            request.off('close', done);
            taken();
          };
          request.once('close', done);
          request.write(buffer, done);
        });
        return;
      }
      request.write(buffer);
      // Up to 1 MiB queued on the socket (its high-water mark is 16 KiB):
      // queued buffers go out in one writev, not a wait per buffer.
      if (request.writableLength >= QUEUED_BYTES) {
        await new Promise<void>(r => {
          drained = r;
        });
        drained = undefined;
      }
    };
    sent = (send ? send(write) : Promise.resolve()).then(
      () => {
        if (!settled) request.end();
        return undefined;
      },
      // The request ended early (an answer, a reset): that outcome stands.
      // Otherwise what the body came from failed: that error stands.
      e => {
        if (e instanceof RequestEnded) return undefined;
        settle(e);
        return e;
      },
    );
  });
  // Settled only once `send` has returned too, so that the next request of
  // the session never reads the source alongside this one.
  return answered.then(
    async answer => {
      const failure = await sent;
      if (failure) throw failure;
      return answer;
    },
    async error => {
      await sent;
      throw error;
    },
  );
}
