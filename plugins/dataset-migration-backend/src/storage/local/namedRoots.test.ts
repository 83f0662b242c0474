import { ConfigReader } from '@backstage/config';
import { parseLocation } from '@internal/backstage-plugin-dataset-migration-common';
import { mkdtemp, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createLocalStorageBackend,
  readLocalRoots,
} from './LocalStorageBackend';

describe('named local roots', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'named-roots-'));
    await mkdir(join(dir, 'examples', 'plays'), { recursive: true });
    await writeFile(join(dir, 'examples', 'plays', 'a.csv'), 'x,y\n1,2\n');
    await mkdir(join(dir, 'outside'));
    await symlink(join(dir, 'outside'), join(dir, 'examples', 'escape'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  const backend = () =>
    createLocalStorageBackend(
      new ConfigReader({
        datasetMigration: {
          storage: {
            local: {
              roots: [
                { name: 'examples', path: join(dir, 'examples') },
                join(dir, 'plain'),
              ],
            },
          },
        },
      }),
    );

  it('opens file://<name>/<path> inside the named root', async () => {
    const store = await backend().open(parseLocation('file://examples/plays'));
    const keys = [];
    for await (const o of store.list()) keys.push(o.key);
    expect(keys).toEqual(['a.csv']);
  });

  it('refuses an unknown root name, listing the configured ones', async () => {
    await expect(
      backend().open(parseLocation('file://nope/plays')),
    ).rejects.toThrow(/Unknown local root 'nope'.*file:\/\/examples/);
  });

  it('refuses a symlink that leaves the named root, without leaking paths', async () => {
    const error = await backend()
      .open(parseLocation('file://examples/escape'))
      .catch(e => e);
    expect(error.name).toBe('NotAllowedError');
    expect(error.message).not.toContain(dir);
  });

  it('names keys and roots, never server paths, for a symlink inside a source', async () => {
    await writeFile(join(dir, 'outside', 'secret.txt'), 'secret');
    await symlink(
      join(dir, 'outside', 'secret.txt'),
      join(dir, 'examples', 'plays', 'x'),
    );
    const store = await backend().open(parseLocation('file://examples/plays'));
    const listing = async () => {
      for await (const _ of store.list()) {
        // drain
      }
    };
    const listed = await listing().catch(e => e);
    const read = await store.read('x').catch(e => e);
    for (const error of [listed, read]) {
      expect(error.name).toBe('NotAllowedError');
      expect(error.message).toMatch(/'x'/);
      expect(error.message).not.toContain(dir);
      expect(error.message).not.toContain('secret.txt');
    }
    expect(listed.message).toContain('file://examples/plays');
  });

  it('rejects malformed root entries', () => {
    expect(() =>
      readLocalRoots(
        new ConfigReader({
          datasetMigration: {
            storage: { local: { roots: [{ name: 'Bad Name', path: '/x' }] } },
          },
        }),
      ),
    ).toThrow(/roots\[0\]\.name/);
  });
});
