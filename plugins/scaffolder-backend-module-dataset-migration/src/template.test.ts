import { mockServices } from '@backstage/backend-test-utils';
import {
  TemplateEntityV1beta3,
  templateEntityV1beta3Validator,
} from '@backstage/plugin-scaffolder-common';
import {
  DATASET_FORMATS,
  MIGRATION_STRATEGIES,
} from '@internal/backstage-plugin-dataset-migration-common';
import { readFileSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import yaml from 'yaml';
import {
  createDatasetMigrationApproveAction,
  createDatasetMigrationCreateAction,
} from './actions';

const template = yaml.parse(
  readFileSync(
    resolvePath(
      __dirname,
      '../../../examples/templates/migrate-dataset/template.yaml',
    ),
    'utf8',
  ),
) as TemplateEntityV1beta3;

const actionOptions = {
  discovery: mockServices.discovery(),
  auth: mockServices.auth(),
  appBaseUrl: 'http://localhost:3000',
};
const actions = new Map(
  [
    createDatasetMigrationCreateAction(actionOptions),
    createDatasetMigrationApproveAction(actionOptions),
  ].map(action => [action.id, action]),
);

/** Every property of every form page, including conditional ones. */
function formProperties(): Record<string, any> {
  const pages = [template.spec.parameters ?? []].flat() as any[];
  const properties: Record<string, any> = {};
  const collect = (schema: any) => {
    // Conditional branches narrow existing fields (`const`); keep the
    // field's own definition and only add the fields they introduce.
    for (const [name, property] of Object.entries(schema?.properties ?? {})) {
      properties[name] ??= property;
    }
    for (const dependency of Object.values(schema?.dependencies ?? {})) {
      ((dependency as any).oneOf ?? []).forEach(collect);
    }
  };
  pages.forEach(collect);
  return properties;
}

describe('examples/templates/migrate-dataset', () => {
  it('is a valid v1beta3 template', async () => {
    await expect(templateEntityV1beta3Validator.check(template)).resolves.toBe(
      true,
    );
  });

  it('only uses inputs the actions declare, and all they require', () => {
    const steps = template.spec.steps.filter(s =>
      s.action.startsWith('dataset-migration:'),
    );
    expect(steps.map(s => s.action)).toContain('dataset-migration:create');
    for (const step of steps) {
      const schema = actions.get(step.action)?.schema?.input as any;
      expect(schema).toBeDefined();
      const inputs = Object.keys(step.input ?? {});
      expect(Object.keys(schema.properties)).toEqual(
        expect.arrayContaining(inputs),
      );
      expect(inputs).toEqual(expect.arrayContaining(schema.required ?? []));
    }
  });

  it('fills every step input from a form field that exists', () => {
    const properties = formProperties();
    const referenced = template.spec.steps.flatMap(step =>
      Object.values(step.input ?? {}).flatMap(value =>
        [...String(value).matchAll(/parameters\.(\w+)/g)].map(m => m[1]),
      ),
    );
    expect(referenced.length).toBeGreaterThan(0);
    expect(Object.keys(properties)).toEqual(expect.arrayContaining(referenced));
  });

  it('offers exactly the formats and strategies the backend accepts', () => {
    const properties = formProperties();
    expect(properties.format.enum).toEqual([...DATASET_FORMATS]);
    expect(properties.strategy.enum).toEqual([...MIGRATION_STRATEGIES]);
  });

  it('picks datasets, not arbitrary entities', () => {
    const { dataset } = formProperties();
    expect(dataset['ui:field']).toBe('EntityPicker');
    expect(dataset['ui:options'].catalogFilter).toContainEqual({
      kind: 'Resource',
      'spec.type': 'dataset',
    });
  });

  it('links to the dataset and to the migrations page', () => {
    const links = (template.spec.output as { links?: unknown[] } | undefined)
      ?.links;
    expect(links).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ entityRef: '${{ parameters.dataset }}' }),
        expect.objectContaining({ url: '/dataset-migrations' }),
        expect.objectContaining({
          url: '${{ steps.migrate.output.migrationUrl }}',
        }),
      ]),
    );
  });
});
