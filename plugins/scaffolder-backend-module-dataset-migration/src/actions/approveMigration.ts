import type {
  AuthService,
  DiscoveryService,
} from '@backstage/backend-plugin-api';
import { InputError } from '@backstage/errors';
import { createTemplateAction } from '@backstage/plugin-scaffolder-node';
import { migrationActionRequestSchema } from '@internal/backstage-plugin-dataset-migration-common';
import yaml from 'yaml';
import { DatasetMigrationApi } from './DatasetMigrationApi';
import { CREATE_MIGRATION_ACTION_ID } from './createMigration';
import { migrationPath, migrationUrl } from './summary';

/** Id of the action that approves a planned dataset migration. @public */
export const APPROVE_MIGRATION_ACTION_ID = 'dataset-migration:approve';

/**
 * Creates the `dataset-migration:approve` action: approves a migration that
 * awaits approval, on behalf of the user who runs the template (the backend
 * checks that this user may approve it).
 *
 * @public
 */
export function createDatasetMigrationApproveAction(options: {
  discovery: DiscoveryService;
  auth: AuthService;
  appBaseUrl: string;
}) {
  const api = new DatasetMigrationApi(options);

  return createTemplateAction({
    id: APPROVE_MIGRATION_ACTION_ID,
    description:
      'Approves a dataset migration that is awaiting approval, so the workers start copying.',
    examples: [
      {
        description: 'Create a migration and approve it in the same template',
        example: yaml.stringify({
          steps: [
            {
              id: 'migrate',
              action: CREATE_MIGRATION_ACTION_ID,
              input: {
                dataset: 'resource:default/plays',
                targetLocation: 's3://archive/plays',
              },
            },
            {
              id: 'approve',
              action: APPROVE_MIGRATION_ACTION_ID,
              input: {
                migrationId: '${{ steps.migrate.output.migrationId }}',
                reason: 'Reviewed the plan in the template form',
              },
            },
          ],
        }),
      },
    ],
    schema: {
      input: {
        migrationId: z =>
          z.string().min(1).describe('Id of the migration to approve'),
        reason: z =>
          z
            .string()
            .max(1000)
            .optional()
            .describe('Why it is approved; kept in the audit log'),
      },
      output: {
        state: z => z.string().describe('State after approval, e.g. queued'),
        migrationUrl: z =>
          z
            .string()
            .describe('Page of the migration in Backstage, as an absolute URL'),
        migrationPath: z =>
          z
            .string()
            .describe(
              'Page of the migration inside the app; use it for output links',
            ),
      },
    },

    async handler(ctx) {
      const { migrationId } = ctx.input;
      if (typeof migrationId !== 'string' || !migrationId) {
        throw new InputError(
          `Invalid input for ${APPROVE_MIGRATION_ACTION_ID}: migrationId must be a non-empty string`,
        );
      }
      const body = migrationActionRequestSchema.safeParse({
        ...(ctx.input.reason && { reason: ctx.input.reason }),
      });
      if (!body.success) {
        throw new InputError(
          `Invalid input for ${APPROVE_MIGRATION_ACTION_ID}: ${body.error.issues
            .map(i => `${i.path.join('.') || 'input'}: ${i.message}`)
            .join('; ')}`,
        );
      }

      // A second approval would fail with 409 once the migration has moved
      // on, so a retried task reuses the first result.
      const state = await ctx.checkpoint({
        key: `dataset-migration.approve.${migrationId}`,
        fn: async () => {
          const migration = await api.approveMigration(
            migrationId,
            body.data,
            await ctx.getInitiatorCredentials(),
          );
          return migration.state;
        },
      });

      const url = migrationUrl(options.appBaseUrl, migrationId);
      ctx.output('state', state);
      ctx.output('migrationUrl', url);
      ctx.output('migrationPath', migrationPath(migrationId));
      ctx.logger.info(
        `Approved migration ${migrationId}; state: ${state}. Follow it at ${url}`,
      );
    },
  });
}
