import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { TestDatabases } from '@backstage/backend-test-utils';
import { InputError } from '@backstage/errors';
import type { VerifyMode } from '@internal/backstage-plugin-dataset-migration-common';
import { hashThreads } from './hashThreads';
import {
  actor,
  dataset,
  hashTree,
  useTestEngines,
  waitForState,
  WrappingBackend,
  writeFile,
} from './__testUtils__/harness';

jest.setTimeout(120_000);

const md5 = (s: string) => createHash('md5').update(s).digest('hex');
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

const FILES: Record<string, string> = {
  'a.csv': 'id\n1\n',
  'b/c.csv': 'id\n2\n3\n',
  'empty.bin': '',
};

// Local files keep no checksum; a wrapper reporting md5s for some keys
// stands in for a store that does. The S3 module's verifyModes.e2e.test.ts
// runs the same paths against s3rver and the GCS test server.
describe('verify modes on local files', () => {
  const databases = TestDatabases.create({ ids: ['POSTGRES_16', 'SQLITE_3'] });
  const engines = useTestEngines(databases);

  describe.each(databases.eachSupportedId())('%p', databaseId => {
    async function migrate(
      verify: VerifyMode | undefined,
      options: {
        allowVerifyNone?: boolean;
        tamper?: boolean;
        /** A 3 MiB `big.bin` too, with one byte flipped before validation. */
        bigFlipped?: boolean;
        md5For?: (key: string) => boolean;
        md5OnStatOnly?: boolean;
        /** Streamed copies instead of server-side ones. */
        stream?: boolean;
        onRead?: (key: string) => void | Promise<unknown>;
      } = {},
    ) {
      const src = path.join(engines.root, 'src');
      const dst = path.join(engines.root, 'dst');
      for (const [key, content] of Object.entries(FILES)) {
        await writeFile(src, key, content);
      }
      const big = Buffer.alloc(3 * 1024 * 1024, 'x');
      if (options.bigFlipped) await writeFile(src, 'big.bin', big);
      const engine = await engines.setup(databaseId, {
        wrap: options.md5For
          ? local =>
              new WrappingBackend(local, {
                md5For: options.md5For,
                md5OnStatOnly: options.md5OnStatOnly,
                noServerSideCopy: options.stream,
                onRead: options.onRead,
              })
          : undefined,
        config: {
          autoApprove: true,
          retry: { maxAttempts: 2, baseDelayMs: 10, maxDelayMs: 20 },
          validation: { allowVerifyNone: options.allowVerifyNone ?? false },
        },
        hooks: {
          async beforeValidate() {
            // Same size, other bytes.
            if (options.tamper) await writeFile(dst, 'b/c.csv', 'id\n2\n4\n');
            if (options.bigFlipped) {
              big[2 * 1024 * 1024 + 7] ^= 1;
              await writeFile(dst, 'big.bin', big);
            }
          },
        },
      });
      const created = await engine.create(
        {
          dataset: 'resource:default/plays',
          target: { location: `file://${dst}` },
          strategy: 'bulk-copy',
          options: verify && { verify },
        },
        dataset(`file://${src}`),
        actor,
      );
      await engine.start();
      const end = await waitForState(engine, created.id, [
        'succeeded',
        'rolled-back',
      ]);
      return {
        created,
        end,
        report: (await engine.getReport(created.id))!,
        dst,
      };
    }

    it('falls back to full for every object when no checksum is in common', async () => {
      const { end, report } = await migrate(undefined);
      expect(end.state).toBe('succeeded');
      expect(report.verify).toEqual({
        mode: 'auto',
        methods: { checksum: 0, full: 3, none: 0 },
        fellBackToFull: ['a.csv', 'b/c.csv', 'empty.bin'],
      });
    });

    it('decides per object: checksum where both sides keep one, full where not', async () => {
      // A server-side copy: the source's listed md5 is all it has to compare.
      const { end, report } = await migrate('checksum', {
        md5For: key => key.endsWith('.csv'),
        tamper: true,
      });
      expect(end.state).toBe('rolled-back');
      expect(report).toMatchObject({
        passed: false,
        objects: { checked: 3, mismatched: 1, missing: 0 },
        methods: { 'checksum-md5': 2, 'reread-sha256': 1 },
        verify: {
          mode: 'checksum',
          methods: { checksum: 2, full: 1, none: 0 },
          fellBackToFull: ['empty.bin'],
        },
        failures: [
          {
            key: 'b/c.csv',
            method: 'checksum',
            problem: expect.stringMatching(/^md5 \w+ differs from source md5/),
          },
        ],
      });
    });

    it('asks the source once when only a stat shows the checksum the target keeps, instead of re-reading both', async () => {
      // Listings without md5 (as S3 lists no CRC32C): a server-side copy
      // knows no source checksum until the source is asked.
      const { end, report } = await migrate('checksum', {
        md5For: key => key.endsWith('.csv'),
        md5OnStatOnly: true,
        tamper: true,
      });
      expect(end.state).toBe('rolled-back');
      expect(report).toMatchObject({
        objects: { checked: 3, mismatched: 1, missing: 0 },
        methods: { 'checksum-md5': 2, 'reread-sha256': 1 },
        verify: { methods: { checksum: 2, full: 1, none: 0 } },
        failures: [
          {
            key: 'b/c.csv',
            method: 'checksum',
            problem: expect.stringMatching(/^md5 \w+ differs from source md5/),
          },
        ],
      });
    });

    it('compares a streamed copy by the md5 the source listed, end to end, and hashes no sha256 for it', async () => {
      const { end, report, created } = await migrate('checksum', {
        md5For: key => key.endsWith('.csv'),
        stream: true,
      });
      expect(end.state).toBe('succeeded');
      expect(report).toMatchObject({
        passed: true,
        methods: { 'checksum-md5': 2, sha256: 1 },
      });
      const rows = await engines
        .knex('dm_work_items')
        .where({ migration_id: created.id })
        .orderBy('key')
        .select('key', 'source_sha256', 'source_md5');
      expect(rows).toEqual([
        { key: 'a.csv', source_sha256: null, source_md5: md5('id\n1\n') },
        { key: 'b/c.csv', source_sha256: null, source_md5: md5('id\n2\n3\n') },
        // Listed with no md5: its sha256 is what validation compares.
        { key: 'empty.bin', source_sha256: sha256(''), source_md5: md5('') },
      ]);
    });

    it('does not take a source changed after the snapshot for the one listed', async () => {
      // Same size, other bytes, between the listing and the copy's read:
      // the md5 the copy hashed is no longer the one the snapshot listed.
      let changed = false;
      const { end } = await migrate('checksum', {
        md5For: key => key.endsWith('.csv'),
        stream: true,
        onRead: async key => {
          if (key === 'b/c.csv' && !changed) {
            changed = true;
            await writeFile(path.join(engines.root, 'src'), key, 'id\n2\n4\n');
          }
        },
      });
      expect(end.state).toBe('rolled-back');
      expect(end.reason).toMatch(
        /'b\/c\.csv': the bytes copied have md5 \w+, but the snapshot listed md5 \w+ for the source/,
      );
    });

    it("'full' re-reads and catches a same-size change, then rolls back", async () => {
      const { end, report, dst } = await migrate('full', { tamper: true });
      expect(end.state).toBe('rolled-back');
      expect(report.verify).toEqual({
        mode: 'full',
        methods: { checksum: 0, full: 3, none: 0 },
        fellBackToFull: [],
      });
      expect(report.failures).toEqual([
        {
          key: 'b/c.csv',
          method: 'full',
          problem: expect.stringMatching(/^sha256 \w+ differs from source/),
        },
      ]);
      await expect(fs.stat(dst)).rejects.toThrow(/ENOENT/);
    });

    it("'full' hashes a large object on a hashing thread and catches one flipped byte", async () => {
      const open = jest.spyOn(hashThreads, 'open');
      try {
        const { end, report } = await migrate('full', { bigFlipped: true });
        expect(end.state).toBe('rolled-back');
        expect(report.failures).toEqual([
          {
            key: 'big.bin',
            method: 'full',
            problem: expect.stringMatching(/^sha256 \w+ differs from source/),
          },
        ]);
        expect(open).toHaveBeenCalled();
      } finally {
        open.mockRestore();
      }
    });

    it("refuses 'none' unless configured", async () => {
      await expect(migrate('none')).rejects.toThrow(InputError);
    });

    it("'none' compares sizes only, and says so in the plan and report", async () => {
      const { created, end, report, dst } = await migrate('none', {
        allowVerifyNone: true,
        tamper: true,
      });
      expect(created.plan!.warnings).toContainEqual(
        expect.stringMatching(/^Validation will compare sizes only/),
      );
      // The same-size change goes unnoticed: that is what 'none' means.
      expect(end.state).toBe('succeeded');
      expect(report).toMatchObject({
        passed: true,
        methods: { size: 3 },
        manifest: { matches: true },
        verify: { mode: 'none', methods: { checksum: 0, full: 0, none: 3 } },
      });
      expect(Object.keys(await hashTree(dst))).toHaveLength(3);
    });
  });
});
