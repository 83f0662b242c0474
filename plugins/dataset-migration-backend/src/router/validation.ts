import { InputError } from '@backstage/errors';
import type { z } from 'zod';

/**
 * Parses request input with a zod schema from -common, turning a failure into
 * an `InputError` that lists every problem as `path: message`, so a caller
 * can fix all of them in one go.
 */
export function parseInput<T extends z.ZodType>(
  schema: T,
  value: unknown,
  what: string,
): z.output<T> {
  const result = schema.safeParse(value ?? {});
  if (result.success) {
    return result.data;
  }
  const problems = result.error.issues.map(issue => {
    const path = issue.path.map(String).join('.');
    return path ? `${path}: ${issue.message}` : issue.message;
  });
  throw new InputError(`Invalid ${what}: ${problems.join('; ')}`);
}
