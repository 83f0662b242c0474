/**
 * Main-thread CPU per small GET from s3rver: the AWS SDK's GetObjectCommand
 * (its whole middleware stack) against a request signed with the SDK's own
 * SignatureV4 and sent through the same client's request handler (no
 * middleware). The engine's copies of small S3 objects are bound by the main
 * thread (bench/README.md), so this is the saving a lean GET path would give.
 *
 *   bench/run-s3-get-cpu.sh [objects=3000]
 */
import {
  GetObjectCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { HttpRequest } from '@smithy/core/protocols';
import { Hash } from '@smithy/core/serde';
import { SignatureV4 } from '@smithy/signature-v4';
// eslint-disable-next-line @backstage/no-relative-monorepo-imports
import { startS3rver } from '../plugins/dataset-migration-backend-module-s3/src/__testUtils__/s3rver';
// eslint-disable-next-line @backstage/no-relative-monorepo-imports
import { s3rverStorage } from '../plugins/dataset-migration-backend-module-s3/src/__testUtils__/helpers';

const CONCURRENCY = 8;
const SIZE = 4096;

async function drain(body: AsyncIterable<Buffer>): Promise<number> {
  let n = 0;
  for await (const chunk of body) n += chunk.length;
  return n;
}

async function main() {
  const objects = Number(process.argv[2] ?? 3000);
  const s3 = await startS3rver({ buckets: ['cpu'] });
  const storage = s3rverStorage(s3.endpoint);
  const client = new S3Client(storage as any);
  const body = Buffer.alloc(SIZE, 7);
  for (let i = 0; i < objects; i += 50) {
    await Promise.all(
      Array.from({ length: Math.min(50, objects - i) }, (_, j) =>
        client.send(
          new PutObjectCommand({
            Bucket: 'cpu',
            Key: `k/${i + j}`,
            Body: body,
          }),
        ),
      ),
    );
  }
  const url = new URL(s3.endpoint);
  const signer = new SignatureV4({
    credentials: storage.credentials,
    region: storage.region,
    service: 's3',
    sha256: Hash.bind(null, 'sha256') as any,
    uriEscapePath: false,
    applyChecksum: false,
  });
  const handler = client.config.requestHandler as any;
  const gets: Record<string, (key: string) => Promise<number>> = {
    'SDK GetObjectCommand': async key => {
      const r = await client.send(
        new GetObjectCommand({ Bucket: 'cpu', Key: key }),
      );
      return drain(r.Body as any);
    },
    'signed request, same handler': async key => {
      const request = new HttpRequest({
        protocol: url.protocol,
        hostname: url.hostname,
        port: Number(url.port),
        method: 'GET',
        path: `/cpu/${key}`,
        headers: { host: url.host, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
      });
      const { response } = await handler.handle(await signer.sign(request));
      if (response.statusCode !== 200) {
        throw new Error(`GET ${key}: HTTP ${response.statusCode}`);
      }
      return drain(response.body);
    },
  };
  console.log(`${objects} GETs of ${SIZE} bytes, ${CONCURRENCY} at a time`);
  for (let round = 1; round <= 2; round++) {
    for (const [name, get] of Object.entries(gets)) {
      const cpu = process.cpuUsage();
      const started = Date.now();
      let next = 0;
      let bytes = 0;
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          while (next < objects) {
            const n = await get(`k/${next++}`);
            bytes += n;
          }
        }),
      );
      const used = process.cpuUsage(cpu);
      const micros = used.user + used.system;
      if (bytes !== objects * SIZE) throw new Error(`read ${bytes} bytes`);
      console.log(
        `round ${round}  ${name.padEnd(30)} ${(
          (Date.now() - started) /
          1000
        ).toFixed(2)} s wall, ` +
          `${(micros / 1e6).toFixed(2)} s main-process CPU, ${(
            micros / objects
          ).toFixed(0)} µs per GET`,
      );
    }
  }
  await s3.stop();
}

main().catch(e => {
  console.error(e);
  process.exit(1);
});
