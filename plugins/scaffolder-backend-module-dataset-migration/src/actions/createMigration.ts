import type {
  AuthService,
  DiscoveryService,
} from '@backstage/backend-plugin-api';
import { InputError } from '@backstage/errors';
import { createTemplateAction } from '@backstage/plugin-scaffolder-node';
import {
  createMigrationRequestSchema,
  DATASET_FORMATS,
  MIGRATION_STRATEGIES,
  type CreateMigrationRequest,
  type Migration,
} from '@internal/backstage-plugin-dataset-migration-common';
import { createHash } from 'node:crypto';
import yaml from 'yaml';
import { DatasetMigrationApi } from './DatasetMigrationApi';
import {
  describeDryRunMarkdown,
  describeMigration,
  describeMigrationMarkdown,
  formatBytes,
  formatDuration,
  migrationPath,
  migrationUrl,
  summarizePlan,
} from './summary';

/** Id of the action that starts a dataset migration. @public */
export const CREATE_MIGRATION_ACTION_ID = 'dataset-migration:create';

const examples = [
  {
    description: 'Copy a dataset to an S3 bucket, converting it to Parquet',
    example: yaml.stringify({
      steps: [
        {
          id: 'migrate',
          action: CREATE_MIGRATION_ACTION_ID,
          name: 'Migrate dataset',
          input: {
            dataset: 'resource:default/plays',
            targetLocation: 's3://archive/plays',
            format: 'parquet',
            strategy: 'bulk-copy',
          },
        },
      ],
    }),
  },
];

/** Request paths in the action's own input names, for error messages. */
const INPUT_NAMES: Record<string, string> = {
  'target.location': 'targetLocation',
  'target.format': 'format',
  'options.autoApprove': 'autoApprove',
};

/**
 * Validates the action input with the same schema the backend uses, so a bad
 * input fails the task before anything is sent.
 */
function toCreateRequest(input: {
  dataset: string;
  targetLocation: string;
  format?: string;
  strategy?: string;
  mapping?: Record<string, unknown> | string;
  autoApprove?: boolean;
}): CreateMigrationRequest {
  const mapping = parseMapping(input.mapping);
  const result = createMigrationRequestSchema.safeParse({
    dataset: input.dataset,
    target: {
      location: input.targetLocation,
      ...(input.format && { format: input.format }),
    },
    strategy: input.strategy ?? 'bulk-copy',
    ...(mapping !== undefined && { mapping }),
    ...(input.autoApprove !== undefined && {
      options: { autoApprove: input.autoApprove },
    }),
  });
  if (!result.success) {
    const problems = result.error.issues
      .map(issue => {
        const path = issue.path.join('.');
        const field = INPUT_NAMES[path] ?? path;
        return field ? `${field}: ${issue.message}` : issue.message;
      })
      .join('; ');
    throw new InputError(
      `Invalid input for ${CREATE_MIGRATION_ACTION_ID}: ${problems}`,
    );
  }
  return result.data;
}

/** Form fields deliver the mapping as JSON text; templates may pass an object. */
function parseMapping(mapping: Record<string, unknown> | string | undefined) {
  if (typeof mapping !== 'string') {
    return mapping;
  }
  if (!mapping.trim()) {
    return undefined;
  }
  try {
    return JSON.parse(mapping) as unknown;
  } catch (error) {
    throw new InputError(
      `Invalid input for ${CREATE_MIGRATION_ACTION_ID}: mapping is not valid JSON (${
        (error as Error).message
      })`,
    );
  }
}

/**
 * Creates the `dataset-migration:create` action: plans a migration of a
 * dataset through the dataset-migration backend, on behalf of the user who
 * runs the template.
 *
 * @public
 */
export function createDatasetMigrationCreateAction(options: {
  discovery: DiscoveryService;
  auth: AuthService;
  /** Base URL of the Backstage frontend, for the `migrationUrl` output. */
  appBaseUrl: string;
}) {
  const api = new DatasetMigrationApi(options);

  return createTemplateAction({
    id: CREATE_MIGRATION_ACTION_ID,
    description:
      'Plans a migration of a dataset to a new location (and optionally format) through the dataset-migration backend. The migration then waits for approval unless autoApprove is set and allowed.',
    examples,
    supportsDryRun: true,
    schema: {
      input: {
        dataset: z =>
          z
            .string()
            .min(1)
            .describe(
              'Entity ref of the dataset to migrate, e.g. resource:default/plays',
            ),
        targetLocation: z =>
          z
            .string()
            .min(1)
            .describe(
              'Where to migrate the dataset to: file:///…, s3://bucket/prefix or gs://bucket/prefix',
            ),
        format: z =>
          z
            .enum(DATASET_FORMATS)
            .optional()
            .describe('Format to write; defaults to the source format'),
        strategy: z =>
          z
            .enum(MIGRATION_STRATEGIES)
            .default('bulk-copy')
            .describe(
              'bulk-copy copies objects as they are; schema-transform rewrites records through a mapping',
            ),
        mapping: z =>
          z
            .union([z.record(z.string(), z.unknown()), z.string()])
            .optional()
            .describe(
              'Field mapping (fields, drop, filter), as an object or a JSON string (e.g. from a textarea); required for schema-transform',
            ),
        autoApprove: z =>
          z
            .boolean()
            .optional()
            .describe(
              'Skip the approval step; only honoured when the backend allows it',
            ),
      },
      output: {
        migrationId: z => z.string().describe('Id of the created migration'),
        state: z =>
          z
            .string()
            .describe('State right after creation, e.g. awaiting-approval'),
        plan: z =>
          z
            .object({
              objects: z.number(),
              bytes: z.number(),
              size: z.string().describe('bytes in human units, e.g. 1.4 MiB'),
              overwrites: z.number(),
              consumers: z.array(z.string()),
              estimatedSeconds: z.number(),
              estimatedTime: z
                .string()
                .describe('estimatedSeconds for people, e.g. 12 min'),
            })
            .optional()
            .describe('Summary of the dry-run plan, when the backend made one'),
        migrationUrl: z =>
          z
            .string()
            .describe('Page of the migration in Backstage, as an absolute URL'),
        migrationPath: z =>
          z
            .string()
            .describe(
              'Page of the migration inside the app, e.g. /dataset-migrations/<id>; use it for output links',
            ),
        summary: z =>
          z
            .string()
            .describe(
              'The plan as Markdown for output text: sizes in human units, consumers linked to their catalog pages',
            ),
      },
    },

    async handler(ctx) {
      const request = toCreateRequest(ctx.input);

      if (ctx.isDryRun) {
        ctx.logger.info(
          `Dry run: would create a ${request.strategy} migration of ${request.dataset} to ${request.target.location}`,
        );
        ctx.output('migrationId', 'dry-run');
        ctx.output('state', 'planned');
        ctx.output('migrationUrl', migrationUrl(options.appBaseUrl));
        ctx.output('migrationPath', migrationPath());
        ctx.output('summary', describeDryRunMarkdown(request));
        return;
      }

      // The runner stores the checkpoint's value with the task, so a retried
      // or resumed task gets the migration created on the first attempt
      // instead of creating a second one. The key includes the request so an
      // `each` loop over several datasets keeps one checkpoint per dataset.
      const fingerprint = createHash('sha256')
        .update(JSON.stringify(request))
        .digest('hex')
        .slice(0, 16);
      const migration = await ctx.checkpoint({
        key: `dataset-migration.create.${fingerprint}`,
        fn: async () => {
          const credentials = await ctx.getInitiatorCredentials();
          const created = await api.createMigration(request, credentials);
          return toCheckpointValue(created);
        },
      });

      const { plan } = migration;
      const url = migrationUrl(options.appBaseUrl, migration.id);
      const path = migrationPath(migration.id);
      ctx.output('migrationId', migration.id);
      ctx.output('state', migration.state);
      if (plan) {
        // Formatted here rather than in the checkpoint, so a task resumed
        // from an older checkpoint still gets them.
        ctx.output('plan', {
          ...plan,
          size: formatBytes(plan.bytes),
          estimatedTime: formatDuration(plan.estimatedSeconds),
        });
      }
      ctx.output('migrationUrl', url);
      ctx.output('migrationPath', path);
      ctx.output('summary', describeMigrationMarkdown(migration, path));
      ctx.logger.info(describeMigration(migration, url));
    },
  });
}

/** What the checkpoint keeps: JSON only, and only what the outputs need. */
function toCheckpointValue(migration: Migration) {
  return {
    id: migration.id,
    state: migration.state,
    dataset: migration.dataset,
    strategy: migration.strategy,
    targetLocation: migration.target.location,
    plan: migration.plan ? summarizePlan(migration.plan) : null,
  };
}
