import { mockServices } from '@backstage/backend-test-utils';
import { createMockActionContext } from '@backstage/plugin-scaffolder-node-test-utils';
import type { JsonObject, JsonValue } from '@backstage/types';
import {
  errorReply,
  FakeDatasetMigrationApi,
} from '../__testUtils__/FakeDatasetMigrationApi';
import { createDatasetMigrationCreateAction } from './createMigration';

const api = new FakeDatasetMigrationApi();
let baseUrl: string;

beforeAll(async () => {
  baseUrl = await api.start();
});
afterAll(() => api.stop());
beforeEach(() => api.reset());

function createAction() {
  return createDatasetMigrationCreateAction({
    discovery: mockServices.discovery.mock({
      getBaseUrl: async () => baseUrl,
    }),
    auth: mockServices.auth(),
    appBaseUrl: 'https://backstage.example.com/',
  });
}

type Context = Parameters<ReturnType<typeof createAction>['handler']>[0];
type Input = Context['input'];

function createContext(input: Input, checkpoints?: Map<string, JsonValue>) {
  const logger = mockServices.logger.mock();
  // The action's input type is narrower than the mock's JsonObject default.
  const ctx = createMockActionContext({
    input: input as JsonObject,
    logger,
  }) as unknown as Context;
  if (checkpoints) {
    // Behaves like the task runner: a checkpoint that succeeded once returns
    // its stored value on every later attempt of the same task.
    ctx.checkpoint = async ({ key, fn }: any) => {
      if (checkpoints.has(key)) {
        return checkpoints.get(key);
      }
      const value = await fn();
      checkpoints.set(key, value ?? {});
      return value;
    };
  }
  return { ctx, logger };
}

const validInput: Input = {
  dataset: 'resource:default/plays',
  targetLocation: 's3://archive/plays',
  format: 'parquet',
  strategy: 'bulk-copy',
  autoApprove: true,
};

describe('dataset-migration:create', () => {
  it('creates the migration on behalf of the user and outputs its plan', async () => {
    const { ctx, logger } = createContext(validInput);
    await createAction().handler(ctx);

    expect(api.requests).toHaveLength(1);
    const [request] = api.requests;
    expect(request.method).toBe('POST');
    expect(request.path).toBe('/migrations');
    expect(request.body).toEqual({
      dataset: 'resource:default/plays',
      target: { location: 's3://archive/plays', format: 'parquet' },
      strategy: 'bulk-copy',
      options: { autoApprove: true },
    });
    // A service token that carries the user: the backend authorises the
    // person who runs the template, not the scaffolder.
    expect(request.authorization).toMatch(/^Bearer mock-service-token:/);
    expect(
      JSON.parse(
        request.authorization!.slice('Bearer mock-service-token:'.length),
      ),
    ).toEqual({ obo: 'user:default/mock', target: 'dataset-migration' });

    expect(ctx.output).toHaveBeenCalledWith('migrationId', 'm1');
    expect(ctx.output).toHaveBeenCalledWith('state', 'awaiting-approval');
    expect(ctx.output).toHaveBeenCalledWith('plan', {
      objects: 1234,
      bytes: 5 * 1024 ** 3,
      size: '5.0 GiB',
      overwrites: 3,
      consumers: ['component:default/charts', 'component:default/royalties'],
      estimatedSeconds: 720,
      estimatedTime: '12 min',
    });
    expect(ctx.output).toHaveBeenCalledWith(
      'migrationUrl',
      'https://backstage.example.com/dataset-migrations/m1',
    );
    expect(ctx.output).toHaveBeenCalledWith(
      'migrationPath',
      '/dataset-migrations/m1',
    );
    const summary = (ctx.output as jest.Mock).mock.calls.find(
      ([name]) => name === 'summary',
    )?.[1];
    expect(summary).toContain('| Size | 5.0 GiB |');
    expect(summary).toContain('| Objects | 1,234 |');
    expect(summary).toContain(
      '[component:charts](/catalog/default/component/charts)',
    );
    expect(summary).not.toContain('5368709120');
    expect(logger.info).toHaveBeenCalledWith(
      'Created bulk-copy migration m1 of resource:default/plays to s3://archive/plays; state: awaiting-approval. ' +
        'Plan: 1,234 objects, 5.0 GiB, estimated 12 min. ' +
        '3 existing target objects will be overwritten (backed up first, restored on rollback). ' +
        '2 consumers to notify: component:default/charts, component:default/royalties. ' +
        'Review and approve it at https://backstage.example.com/dataset-migrations/m1',
    );
  });

  it('defaults the strategy to bulk-copy and leaves optional fields out', async () => {
    const { ctx } = createContext({
      dataset: 'resource:default/plays',
      targetLocation: 'gs://lake/plays',
    } as Input);
    await createAction().handler(ctx);
    expect(api.requests[0].body).toEqual({
      dataset: 'resource:default/plays',
      target: { location: 'gs://lake/plays' },
      strategy: 'bulk-copy',
    });
  });

  it('passes a mapping through for schema-transform', async () => {
    const mapping = {
      fields: [{ from: 'ts', to: 'played_at', cast: 'timestamp' }],
    };
    const { ctx } = createContext({
      ...validInput,
      strategy: 'schema-transform',
      mapping,
    });
    await createAction().handler(ctx);
    expect(api.requests[0].body.mapping).toEqual(mapping);
  });

  it('accepts the mapping as JSON text from a form field', async () => {
    const { ctx } = createContext({
      ...validInput,
      strategy: 'schema-transform',
      mapping: '{"fields":[{"to":"country","default":"SE"}],"drop":["ip"]}',
    });
    await createAction().handler(ctx);
    expect(api.requests[0].body.mapping).toEqual({
      fields: [{ to: 'country', default: 'SE' }],
      drop: ['ip'],
    });
  });

  it('fails with the API message when the backend rejects the request', async () => {
    api.reply = () =>
      errorReply(
        400,
        'InputError',
        'Target location s3://archive/plays is the same as the source',
      );
    const { ctx } = createContext(validInput);
    const run = createAction().handler(ctx);
    await expect(run).rejects.toThrow(
      'Could not create a migration of resource:default/plays: Target location s3://archive/plays is the same as the source',
    );
    await expect(run).rejects.toMatchObject({ name: 'InputError' });
    expect(ctx.output).not.toHaveBeenCalled();
  });

  it('surfaces a permission denial as NotAllowedError, with the dataset', async () => {
    api.reply = () =>
      errorReply(
        403,
        'NotAllowedError',
        'You are not allowed to create migrations for resource:default/plays',
      );
    const { ctx } = createContext(validInput);
    await expect(createAction().handler(ctx)).rejects.toMatchObject({
      name: 'NotAllowedError',
      message:
        'Could not create a migration of resource:default/plays: You are not allowed to create migrations for resource:default/plays',
    });
    expect(api.requests).toHaveLength(1);
    expect(ctx.output).not.toHaveBeenCalled();
  });

  it('does not create a second migration when the task is retried', async () => {
    const checkpoints = new Map<string, JsonValue>();
    const action = createAction();

    const first = createContext(validInput, checkpoints);
    await action.handler(first.ctx);
    const retry = createContext(validInput, checkpoints);
    await action.handler(retry.ctx);

    expect(api.requests).toHaveLength(1);
    expect(retry.ctx.output).toHaveBeenCalledWith('migrationId', 'm1');
    expect(retry.ctx.output).toHaveBeenCalledWith(
      'plan',
      expect.objectContaining({ objects: 1234, size: '5.0 GiB' }),
    );
    expect(retry.ctx.output).toHaveBeenCalledWith(
      'migrationPath',
      '/dataset-migrations/m1',
    );
  });

  it('tries again on retry when the first attempt failed', async () => {
    const checkpoints = new Map<string, JsonValue>();
    const action = createAction();
    api.reply = () => errorReply(503, 'ServiceUnavailableError', 'Restarting');

    await expect(
      action.handler(createContext(validInput, checkpoints).ctx),
    ).rejects.toThrow(/Restarting/);
    api.reply = undefined;
    const retry = createContext(validInput, checkpoints);
    await action.handler(retry.ctx);

    expect(api.requests).toHaveLength(2);
    expect(retry.ctx.output).toHaveBeenCalledWith('state', 'awaiting-approval');
  });

  it.each([
    [
      'a dataset that is not an entity ref',
      { dataset: 'plays dataset' },
      /dataset: must be an entity ref/,
    ],
    [
      'an unsupported target scheme',
      { targetLocation: 'ftp://example.com/plays' },
      /targetLocation: /,
    ],
    ['an unknown format', { format: 'xlsx' }, /format: /],
    [
      'a mapping that is not JSON',
      { strategy: 'schema-transform', mapping: '{fields: [' },
      /mapping is not valid JSON/,
    ],
    [
      'a mapping with unknown keys',
      { strategy: 'schema-transform', mapping: { renames: {} } },
      /mapping: /,
    ],
  ])('rejects %s before calling the API', async (_, override, message) => {
    const { ctx } = createContext({ ...validInput, ...override } as Input);
    const run = createAction().handler(ctx);
    await expect(run).rejects.toThrow(message);
    await expect(run).rejects.toMatchObject({ name: 'InputError' });
    expect(api.requests).toHaveLength(0);
  });

  it('only validates in a dry run', async () => {
    const { ctx } = createContext(validInput);
    ctx.isDryRun = true;
    await createAction().handler(ctx);
    expect(api.requests).toHaveLength(0);
    expect(ctx.output).toHaveBeenCalledWith('migrationId', 'dry-run');
    expect(ctx.output).toHaveBeenCalledWith(
      'migrationPath',
      '/dataset-migrations',
    );
    expect(ctx.output).toHaveBeenCalledWith(
      'summary',
      expect.stringMatching(/^Dry run: would plan a bulk-copy migration/),
    );
  });
});
