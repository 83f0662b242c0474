import http from 'node:http';
import { AddressInfo } from 'node:net';

/** What the proxy does with one request. */
export type Fault =
  /**
   * Answer with this status (after reading the request body, or at once with
   * `beforeBody`), do not forward.
   */
  | {
      status: number;
      body?: string;
      headers?: Record<string, string>;
      beforeBody?: boolean;
    }
  /** Read this many request body bytes, then drop the connection. */
  | { dropAfterBodyBytes: number }
  /** Forward the request with the body byte at this offset inverted. */
  | { flipBodyByteAt: number }
  /**
   * Forward the request, then change its answer: headers added, the body
   * byte at `flipByteAt` inverted, the connection dropped after
   * `dropAfterBytes` body bytes.
   */
  | {
      answer: {
        headers?: Record<string, string>;
        flipByteAt?: number;
        dropAfterBytes?: number;
      };
    };

export interface FaultRequestInfo {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  /** 1-based number of this request since the proxy started. */
  seq: number;
}

export interface FaultProxy {
  endpoint: string;
  port: number;
  /** Faults injected so far, in order. */
  injected: Array<{ fault: Fault; method: string; url: string }>;
  /** Replaces the decision function. */
  setDecider(decide: (req: FaultRequestInfo) => Fault | undefined): void;
  stop(): Promise<void>;
}

/**
 * An HTTP proxy in front of a test server that injects 5xx answers and
 * dropped connections, so retry paths run against the real clients.
 */
export async function startFaultProxy(
  target: string,
  decide: (req: FaultRequestInfo) => Fault | undefined = () => undefined,
): Promise<FaultProxy> {
  const upstream = new URL(target);
  const injected: FaultProxy['injected'] = [];
  let decider = decide;
  let seq = 0;
  const agent = new http.Agent({ keepAlive: true });

  const server = http.createServer((req, res) => {
    const info: FaultRequestInfo = {
      method: req.method ?? 'GET',
      url: req.url ?? '/',
      headers: req.headers,
      seq: ++seq,
    };
    const fault = decider(info);
    if (fault) {
      injected.push({ fault, method: info.method, url: info.url });
    }
    if (fault && 'status' in fault) {
      req.resume();
      const answer = () => {
        res.writeHead(fault.status, {
          'Content-Type': 'text/plain',
          ...fault.headers,
        });
        res.end(fault.body ?? 'injected fault');
      };
      if (fault.beforeBody) answer();
      else req.on('end', answer);
      return;
    }
    if (fault && 'dropAfterBodyBytes' in fault) {
      let seen = 0;
      req.on('data', (chunk: Buffer) => {
        seen += chunk.length;
        if (seen >= fault.dropAfterBodyBytes) {
          req.socket.destroy();
        }
      });
      req.on('end', () => req.socket.destroy());
      return;
    }
    const forward = http.request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
        agent,
      },
      upstreamRes => {
        const change = fault && 'answer' in fault ? fault.answer : undefined;
        res.writeHead(upstreamRes.statusCode ?? 502, {
          ...upstreamRes.headers,
          ...change?.headers,
        });
        if (change?.flipByteAt === undefined && !change?.dropAfterBytes) {
          upstreamRes.pipe(res);
          return;
        }
        let seen = 0;
        upstreamRes.on('data', (chunk: Buffer) => {
          const out = Buffer.from(chunk);
          const at = (change.flipByteAt ?? -1) - seen;
          if (at >= 0 && at < out.length) out[at] ^= 0xff;
          const left = (change.dropAfterBytes ?? Infinity) - seen;
          seen += out.length;
          if (left <= out.length) {
            upstreamRes.destroy();
            res.write(out.subarray(0, left), () => res.destroy());
          } else {
            res.write(out);
          }
        });
        upstreamRes.on('end', () => res.end());
      },
    );
    forward.on('error', () => res.destroy());
    if (fault && 'flipBodyByteAt' in fault) {
      let seen = 0;
      req.on('data', (chunk: Buffer) => {
        const at = fault.flipBodyByteAt - seen;
        if (at >= 0 && at < chunk.length) {
          const copy = Buffer.from(chunk);
          copy[at] ^= 0xff;
          forward.write(copy);
        } else {
          forward.write(chunk);
        }
        seen += chunk.length;
      });
      req.on('end', () => forward.end());
      return;
    }
    req.pipe(forward);
  });
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    injected,
    setDecider(d) {
      decider = d;
    },
    async stop() {
      server.closeAllConnections();
      agent.destroy();
      await new Promise(resolve => server.close(resolve));
    },
  };
}
