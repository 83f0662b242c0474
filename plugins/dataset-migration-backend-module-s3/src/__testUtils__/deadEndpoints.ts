import net from 'node:net';

/** A loopback port nothing listens on (bound, then closed). */
export async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise(resolve => server.close(resolve));
  return port;
}

/** A server that accepts connections and never answers. */
export async function silentServer(): Promise<{
  endpoint: string;
  port: number;
  stop(): Promise<void>;
}> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer(socket => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    async stop() {
      sockets.forEach(s => s.destroy());
      await new Promise(resolve => server.close(resolve));
    },
  };
}

/** Strings a client-facing error must never contain for an endpoint. */
export function endpointLeaks(port: number): string[] {
  return ['127.0.0.1', String(port), 'ECONNREFUSED', 'errno', 'syscall'];
}
