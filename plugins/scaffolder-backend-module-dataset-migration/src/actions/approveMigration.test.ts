import { mockServices } from '@backstage/backend-test-utils';
import { createMockActionContext } from '@backstage/plugin-scaffolder-node-test-utils';
import {
  errorReply,
  FakeDatasetMigrationApi,
} from '../__testUtils__/FakeDatasetMigrationApi';
import { createDatasetMigrationApproveAction } from './approveMigration';

const api = new FakeDatasetMigrationApi();
let baseUrl: string;

beforeAll(async () => {
  baseUrl = await api.start();
});
afterAll(() => api.stop());
beforeEach(() => api.reset());

function createAction() {
  return createDatasetMigrationApproveAction({
    discovery: mockServices.discovery.mock({
      getBaseUrl: async () => baseUrl,
    }),
    auth: mockServices.auth(),
    appBaseUrl: 'https://backstage.example.com',
  });
}

describe('dataset-migration:approve', () => {
  it('approves on behalf of the user and outputs the new state', async () => {
    const ctx = createMockActionContext({
      input: { migrationId: 'm 7', reason: 'Plan looks right' },
    });
    await createAction().handler(ctx);

    expect(api.requests).toEqual([
      {
        method: 'POST',
        path: '/migrations/m%207/approve',
        authorization: expect.stringContaining('"obo":"user:default/mock"'),
        body: { reason: 'Plan looks right' },
      },
    ]);
    expect(ctx.output).toHaveBeenCalledWith('state', 'queued');
    expect(ctx.output).toHaveBeenCalledWith(
      'migrationUrl',
      'https://backstage.example.com/dataset-migrations/m%207',
    );
    expect(ctx.output).toHaveBeenCalledWith(
      'migrationPath',
      '/dataset-migrations/m%207',
    );
  });

  it('surfaces a conflict with the API message', async () => {
    api.reply = () =>
      errorReply(
        409,
        'ConflictError',
        "Migration m1 is 'running', not awaiting approval",
      );
    const ctx = createMockActionContext({ input: { migrationId: 'm1' } });
    await expect(createAction().handler(ctx)).rejects.toMatchObject({
      name: 'ConflictError',
      message: expect.stringContaining(
        "Could not approve migration m1: Migration m1 is 'running', not awaiting approval",
      ),
    });
  });

  it('rejects a missing migration id before calling the API', async () => {
    const ctx = createMockActionContext({ input: {} as any });
    await expect(createAction().handler(ctx)).rejects.toThrow(
      /migrationId must be a non-empty string/,
    );
    expect(api.requests).toHaveLength(0);
  });
});
