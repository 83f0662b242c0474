import { mockServices } from '@backstage/backend-test-utils';
import {
  TemplateEntityV1beta3,
  templateEntityV1beta3Validator,
} from '@backstage/plugin-scaffolder-common';
import {
  ANNOTATION_DATASET_LOCATION,
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

/** Every string under `key` anywhere in the template, with its path. */
function stringsUnder(key: string): Array<[path: string, text: string]> {
  const found: Array<[string, string]> = [];
  const walk = (value: unknown, path: string) => {
    if (Array.isArray(value)) {
      value.forEach((item, i) => walk(item, `${path}[${i}]`));
    } else if (value && typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) {
        if (k === key && typeof v === 'string') {
          found.push([`${path}.${k}`, v]);
        } else {
          walk(v, `${path}.${k}`);
        }
      }
    }
  };
  walk(template, 'template');
  return found;
}

/** Markdown text with inline code spans taken out. */
function outsideCode(markdown: string): string {
  return markdown.replace(/(`+)[\s\S]*?\1/g, '');
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

  it('picks datasets the backend can migrate, not arbitrary entities', () => {
    const { dataset } = formProperties();
    expect(dataset['ui:field']).toBe('EntityPicker');
    expect(dataset['ui:options'].allowArbitraryValues).toBe(false);
    const filters: Record<string, unknown>[] =
      dataset['ui:options'].catalogFilter;
    expect(filters.map(f => f.kind)).toEqual(['Resource', 'API']);
    // Every alternative must narrow to datasets with a location: the
    // alternatives are OR-ed, so one loose entry would let anything in.
    for (const filter of filters) {
      expect(filter).toEqual({
        kind: expect.any(String),
        'spec.type': 'dataset',
        [`metadata.annotations.${ANNOTATION_DATASET_LOCATION}`]: {
          exists: true,
        },
      });
    }
  });

  it('writes descriptions that survive Markdown rendering', () => {
    // The scaffolder renders descriptions as Markdown with raw HTML, so
    // `<bucket>` outside a code span is taken for a tag and disappears.
    const descriptions = stringsUnder('description');
    expect(descriptions.length).toBeGreaterThan(5);
    for (const [path, text] of descriptions) {
      expect({
        path,
        html: outsideCode(text).match(/<\/?[A-Za-z][^>]*>/g),
      }).toEqual({ path, html: null });
    }
    const targetLocation: string = formProperties().targetLocation.description;
    for (const scheme of ['file://ROOT/PATH', 's3://BUCKET/PREFIX']) {
      expect(targetLocation).toContain(`\`${scheme}\``);
    }
  });

  it('keeps ui:help plain text, which is how the form shows it', () => {
    const helps = stringsUnder('ui:help');
    expect(helps.length).toBeGreaterThan(0);
    for (const [path, text] of helps) {
      expect({ path, text }).toEqual({
        path,
        text: expect.not.stringMatching(/[`<>*_[\]]/),
      });
    }
  });

  it('only reads outputs the actions declare', () => {
    const output = JSON.stringify(template.spec.output);
    const used = [...output.matchAll(/steps\.(\w+)\.output\.(\w+)/g)].map(
      ([, stepId, name]) => ({ stepId, name }),
    );
    expect(used.length).toBeGreaterThan(0);
    for (const { stepId, name } of used) {
      const step = template.spec.steps.find(s => s.id === stepId);
      expect(step).toBeDefined();
      const schema = actions.get(step!.action)?.schema?.output as any;
      expect(Object.keys(schema.properties)).toContain(name);
    }
  });

  it("links to the migration's page in the app, the dataset and the migrations page", () => {
    const output = template.spec.output as
      | { links?: Array<Record<string, string>>; text?: unknown[] }
      | undefined;
    const links = output?.links ?? [];
    expect(links).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ entityRef: '${{ parameters.dataset }}' }),
        expect.objectContaining({ url: '/dataset-migrations' }),
      ]),
    );
    // An in-app path, not the absolute migrationUrl: the frontend opens
    // absolute URLs in a new tab, and app.baseUrl may not be the browser's.
    const migrationLinks = links.filter(l => l.url?.includes('migrationPath'));
    expect(migrationLinks.map(l => l.url)).toEqual([
      '${{ steps.migrate.output.migrationPath }}',
      '${{ steps.migrate.output.migrationPath }}',
    ]);
    // One of them, titled for the state the migration is in.
    expect(migrationLinks.map(l => l.if)).toEqual([
      "${{ steps.migrate.output.state === 'awaiting-approval' }}",
      "${{ steps.migrate.output.state !== 'awaiting-approval' }}",
    ]);
    expect(output?.text).toEqual([
      expect.objectContaining({
        content: '${{ steps.migrate.output.summary }}',
      }),
    ]);
  });
});
