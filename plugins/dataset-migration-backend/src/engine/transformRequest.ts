import { InputError } from '@backstage/errors';
import {
  ANNOTATION_DATASET_MAPPING,
  ANNOTATION_DATASET_SCHEMA,
  type CreateMigrationRequest,
  type Mapping,
  mappingSchema,
  type PlannedTransform,
  TABULAR_FORMATS,
  type TabularFormat,
} from '@internal/backstage-plugin-dataset-migration-common';
import type { DeclaredColumn } from '../transform/declaredSchema';
import { parse as parseYaml } from 'yaml';
import type { DatasetInfo } from '../service/types';
import { isDataKey, targetKeyOf } from '../transform/planTransform';

/** What a schema-transform request resolves to before it is planned. */
export interface TransformRequest {
  mapping: Mapping;
  mappingSource: PlannedTransform['mappingSource'];
  sourceFormat: TabularFormat;
  targetFormat: TabularFormat;
  /** Where a source key lands in the target. */
  targetKey(key: string): string;
  /** The columns the dataset entity declares (its schema annotation). */
  declaredColumns?: DeclaredColumn[];
}

/** An annotation's YAML or JSON text, parsed; `where` names it in the error. */
function parseAnnotationText(text: string, where: string): unknown {
  try {
    return parseYaml(text);
  } catch (e) {
    throw new InputError(
      `${where} is not YAML or JSON: ${(e as Error).message}`,
    );
  }
}

/**
 * The columns of the dataset's `dataset-migration.io/schema` annotation:
 * JSON or YAML, either `{ column: type }` or a list of `{ name, type }`.
 * A URL is not fetched (undefined).
 */
export function parseSchemaAnnotation(
  text: string,
  datasetRef: string,
): DeclaredColumn[] | undefined {
  if (/^\s*[a-z][a-z0-9+.-]*:\/\//i.test(text)) return undefined;
  const where = `The '${ANNOTATION_DATASET_SCHEMA}' annotation of ${datasetRef}`;
  const value = parseAnnotationText(text, where);
  const typeOf = (t: unknown) =>
    typeof t === 'string' && t.trim() !== '' ? t.trim() : undefined;
  if (Array.isArray(value)) {
    const columns = value.map(c =>
      c && typeof c === 'object'
        ? (c as { name?: unknown; type?: unknown })
        : {},
    );
    if (columns.every(c => typeof c.name === 'string' && c.name !== '')) {
      return columns.map(c => ({
        name: c.name as string,
        type: typeOf(c.type),
      }));
    }
  } else if (value && typeof value === 'object') {
    const entries = Object.entries(value);
    if (entries.length > 0) {
      return entries.map(([name, type]) => ({ name, type: typeOf(type) }));
    }
  }
  throw new InputError(
    `${where} must map column names to types ({"id": "bigint", ...}) or list columns ([{name: id, type: bigint}, ...])`,
  );
}

function isTabular(format: string | undefined): format is TabularFormat {
  return (TABULAR_FORMATS as readonly string[]).includes(format ?? '');
}

/** The dataset's mapping annotation (YAML or JSON text), checked. */
export function parseMappingAnnotation(
  text: string,
  datasetRef: string,
): Mapping {
  const where = `The '${ANNOTATION_DATASET_MAPPING}' annotation of ${datasetRef}`;
  const value = parseAnnotationText(text, where);
  const parsed = mappingSchema.safeParse(value);
  if (!parsed.success) {
    throw new InputError(
      `${where} is not a valid mapping: ${parsed.error.issues
        .map(i => `${i.path.join('.') || '(root)'}: ${i.message}`)
        .join('; ')}`,
    );
  }
  return parsed.data;
}

/**
 * Which mapping a schema-transform runs (the request's, else the dataset
 * entity's annotation) and between which formats. Every refusal is a 400
 * that says what to change.
 */
export function resolveTransformRequest(
  request: Pick<CreateMigrationRequest, 'mapping' | 'target'>,
  dataset: DatasetInfo,
): TransformRequest {
  const sourceFormat = dataset.format;
  if (!isTabular(sourceFormat)) {
    throw new InputError(
      `Strategy 'schema-transform' needs a tabular dataset (${TABULAR_FORMATS.join(
        ', ',
      )}); ${dataset.ref} is ${
        sourceFormat
          ? `'${sourceFormat}'`
          : "of unknown format (set the 'dataset-migration.io/format' annotation)"
      }`,
    );
  }
  let mapping = request.mapping as Mapping | undefined;
  let mappingSource: TransformRequest['mappingSource'] = 'request';
  if (!mapping && dataset.mappingText !== undefined) {
    mapping = parseMappingAnnotation(dataset.mappingText, dataset.ref);
    mappingSource = 'entity';
  }
  if (!mapping) {
    throw new InputError(
      `Strategy 'schema-transform' needs a mapping: give one in the request, or in the '${ANNOTATION_DATASET_MAPPING}' annotation of ${dataset.ref}`,
    );
  }
  const requested = request.target?.format;
  if (requested !== undefined && !isTabular(requested)) {
    throw new InputError(
      `A schema-transform writes ${TABULAR_FORMATS.join(
        ', ',
      )}; target format '${requested}' is not one of them`,
    );
  }
  if (mapping.format && requested && mapping.format !== requested) {
    throw new InputError(
      `The target format '${requested}' contradicts the mapping's format '${mapping.format}'; give one of them`,
    );
  }
  const targetFormat = mapping.format ?? requested ?? sourceFormat;
  const declaredColumns =
    dataset.schemaText !== undefined
      ? parseSchemaAnnotation(dataset.schemaText, dataset.ref)
      : undefined;
  return {
    declaredColumns,
    mapping: { ...mapping, format: targetFormat },
    mappingSource,
    sourceFormat,
    targetFormat,
    targetKey: key =>
      isDataKey(key, sourceFormat)
        ? targetKeyOf(key, sourceFormat, targetFormat)
        : key,
  };
}
