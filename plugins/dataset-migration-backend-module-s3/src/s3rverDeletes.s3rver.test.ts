import { existsSync } from 'node:fs';
import path from 'node:path';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { S3StorageBackend } from './S3StorageBackend';
import { S3rverProcess, startS3rver } from './__testUtils__/s3rver';
import { s3Config } from './__testUtils__/helpers';

jest.setTimeout(60_000);

const BUCKET = 'deletes';

/**
 * DeleteObject against the test s3rver (its folder clean-up is patched in
 * s3rverLikeS3.js): a key's folders go once they hold nothing, and not
 * before.
 */
describe('DeleteObject against s3rver', () => {
  let s3rver: S3rverProcess;
  let backend: S3StorageBackend;
  const folder = (...parts: string[]) =>
    path.join(s3rver.directory, BUCKET, ...parts);
  const put = (Key: string) =>
    backend.client.send(
      new PutObjectCommand({ Bucket: BUCKET, Key, Body: `body of ${Key}` }),
    );
  const del = (Key: string) =>
    backend.client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key }));
  const keys = async () =>
    (
      await backend.client.send(
        new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'd/' }),
      )
    ).Contents?.map(o => o.Key) ?? [];

  beforeAll(async () => {
    s3rver = await startS3rver({ buckets: [BUCKET] });
    backend = S3StorageBackend.fromConfig(s3Config(s3rver.endpoint));
  });
  afterAll(async () => {
    backend?.destroy();
    await s3rver?.stop();
  });

  it('removes a folder with its last object, keeps one that holds others', async () => {
    for (const key of ['d/x/1', 'd/x/2', 'd/y/3']) await put(key);
    expect(existsSync(folder('d', 'x'))).toBe(true);

    await del('d/x/1');
    expect(existsSync(folder('d', 'x'))).toBe(true);
    const left = await backend.client.send(
      new GetObjectCommand({ Bucket: BUCKET, Key: 'd/x/2' }),
    );
    expect(await left.Body!.transformToString()).toBe('body of d/x/2');

    await del('d/x/2');
    expect(existsSync(folder('d', 'x'))).toBe(false);
    expect(existsSync(folder('d'))).toBe(true);
    expect(await keys()).toEqual(['d/y/3']);

    await del('d/y/3');
    expect(existsSync(folder('d'))).toBe(false);
    expect(existsSync(folder())).toBe(true);
    expect(await keys()).toEqual([]);

    // A folder removed can be written into again.
    await put('d/x/4');
    expect(await keys()).toEqual(['d/x/4']);
  });

  it('answers a delete of a key that does not exist as S3 does (204)', async () => {
    const out = await del('nowhere/at/all');
    expect(out.$metadata.httpStatusCode).toBe(204);
    await put('nowhere/else');
    await del('nowhere/at/all');
    expect(existsSync(folder('nowhere'))).toBe(true);
  });
});
