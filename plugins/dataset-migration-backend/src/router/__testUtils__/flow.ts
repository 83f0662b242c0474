import {
  mockCredentials,
  type TestBackend,
} from '@backstage/backend-test-utils';
import type {
  Migration,
  MigrationEvent,
  MigrationState,
} from '@internal/backstage-plugin-dataset-migration-common';
import fs from 'node:fs/promises';
import path from 'node:path';
import request from 'supertest';
import { API, listFiles } from './testBackend';

const owner = mockCredentials.user.header();

/** Polls `GET /migrations/:id` until the migration is in one of `states`. */
export async function waitForState(
  server: TestBackend['server'],
  id: string,
  states: MigrationState[],
  timeoutMs = 60_000,
): Promise<Migration> {
  const deadline = Date.now() + timeoutMs;
  let last: Migration | undefined;
  // Asks at least once, however short the timeout (a 1 ms timeout means
  // "is it in that state now"; on a loaded machine the deadline may pass
  // before the first request).
  for (;;) {
    const res = await request(server)
      .get(`${API}/migrations/${id}`)
      .set('Authorization', owner);
    expect(res.status).toBe(200);
    last = res.body;
    if (states.includes(last!.state)) {
      return last!;
    }
    if (Date.now() >= deadline) break;
    await new Promise(r => setTimeout(r, 100));
  }
  const events = await request(server)
    .get(`${API}/migrations/${id}/events`)
    .set('Authorization', owner);
  throw new Error(
    `migration ${id} did not reach ${states.join('|')}; last: ${JSON.stringify(
      last,
    )}; events: ${JSON.stringify(events.body.items, null, 1)}`,
  );
}

export async function readTree(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const file of await listFiles(dir)) {
    out[file] = await fs.readFile(path.join(dir, file), 'utf8');
  }
  return out;
}

/** The `to` states of the state-changed events, with their actors. */
export function transitions(events: MigrationEvent[]) {
  return events
    .filter(e => e.type === 'state-changed')
    .map(e => ({ to: (e.details as { to: string }).to, actor: e.actor }));
}

export function expectSubsequence<T>(all: T[], wanted: T[]) {
  let i = 0;
  for (const item of all) {
    if (
      i < wanted.length &&
      JSON.stringify(item) === JSON.stringify(wanted[i])
    ) {
      i += 1;
    }
  }
  expect({ all, matched: wanted.slice(0, i) }).toEqual({
    all,
    matched: wanted,
  });
}
