import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { uploadRequest } from './sessionRequest';

/** Less than what a write may queue before it waits for the socket. */
const PIECE = 256 * 1024;

describe('uploadRequest', () => {
  let server: http.Server;
  let uri: string;
  /** The fill byte of each piece the server received. */
  let received: number[];

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      received = [];
      const parts: Buffer[] = [];
      // A slow reader: the client's socket fills up before a byte is read.
      req.pause();
      setTimeout(() => {
        req.on('data', (d: Buffer) => parts.push(d));
        req.on('end', () => {
          const body = Buffer.concat(parts);
          for (let at = 0; at < body.length; at += PIECE) {
            const piece = body.subarray(at, at + PIECE);
            received.push(piece.every(b => b === piece[0]) ? piece[0] : -1);
          }
          res.writeHead(200).end('{}');
        });
        req.resume();
      }, 300);
    });
    await new Promise<void>(r => server.listen(0, '127.0.0.1', r));
    uri = `http://127.0.0.1:${(server.address() as AddressInfo).port}/s`;
  });
  afterAll(() => new Promise(r => server.close(r)));

  it('with `flushed`, returns only once the socket took the buffer, so it can be refilled', async () => {
    const count = 64;
    const buffer = Buffer.alloc(PIECE);
    const answer = await uploadRequest(
      { uri },
      { 'Content-Length': String(count * PIECE) },
      async write => {
        for (let i = 0; i < count; i++) {
          buffer.fill(i + 1);
          await write(buffer, { flushed: true });
        }
      },
    );
    expect(answer.status).toBe(200);
    expect(received).toEqual(Array.from({ length: count }, (_, i) => i + 1));
  });
});
