/* eslint-disable jest/no-export */
// A suite other packages run against their stores: it must export and hold
// `describe`/`it` calls at once.
import type { ObjectStore } from '../storage';
import { basicCases } from './basicCases';
import { keyCases } from './keyCases';
import { partCases } from './partCases';
import { writeCases } from './writeCases';

/** What a backend's test tells the shared suite about the store under test. */
export interface ConformanceContext {
  /**
   * Opens a store at `prefix` (unique per test, `/`-separated) on the
   * backend under test. Objects of the store must be named `<prefix>/<key>`
   * on the backend (bucket object names, or paths under a local root).
   */
  open(prefix: string): Promise<ObjectStore>;
  /** The store's configured list page size (the suite crosses pages). */
  listPageSize: number;
  /**
   * Where the store splits a write: the S3 part size, the GCS resumable
   * chunk size. Stores that never split (local files) give the buffer size
   * their streams use. The suite writes objects of this size −1, exactly,
   * and +1 bytes, with and without a size hint, and compares bytes and
   * checksums.
   */
  partSizeBytes: number;
  /**
   * Counts requests that carry one part / chunk of a multipart or resumable
   * upload, to prove large objects take that path and that `partSizeBytes`
   * is where the split happens. Absent for stores that never split.
   */
  partRequests?(): number;
  /**
   * The longest full object name (`<prefix>/<key>`, UTF-8 bytes) the backend
   * holds. Default 1024: the limit of S3 and GCS. The suite writes keys that
   * fill it exactly.
   */
  maxKeyBytes?: number;
  /**
   * The longest `/`-separated segment (UTF-8 bytes) the backend holds.
   * Default 255, a POSIX filesystem's NAME_MAX. Object stores have no such
   * limit; a test server keeping objects as files may have a smaller one.
   */
  maxKeySegmentBytes?: number;
  /**
   * Every name the backend physically holds under `prefix`, relative to it,
   * read behind the store's back: files on disk (temp files included), or
   * objects and the keys of unfinished multipart uploads on a server. After
   * an interrupted write it must equal the listing: nothing partial or
   * temporary stays behind. Absent where the test cannot see such state
   * (GCS resumable sessions are invisible).
   */
  storedNames?(prefix: string): Promise<string[]>;
}

/** Ids of the suite's cases, for {@link ConformanceOptions.skip}. */
export type ConformanceCaseId =
  | 'basic'
  | 'zero-byte'
  | 'list-pages'
  | 'list-after'
  | 'ranges'
  | 'missing'
  | 'overwrite'
  | 'escape'
  | 'large'
  | 'copy'
  | 'copy-missing-source'
  | 'awkward-keys'
  | 'case-distinct'
  | 'longest-ascii-key'
  | 'longest-multibyte-key'
  | 'copy-awkward-keys'
  | 'part-boundaries'
  | 'interrupted-new'
  | 'interrupted-overwrite'
  | 'interrupted-abort'
  | 'parts-complete'
  | 'parts-rewrite'
  | 'parts-abort'
  | 'parts-missing-upload'
  | 'parts-size-mismatch';

export interface ConformanceOptions {
  /**
   * Cases a backend cannot pass yet, each with the reason (say what fails
   * and where the fix belongs). Unknown ids are an error.
   */
  skip?: Partial<Record<ConformanceCaseId, string>>;
}

/** Registers one case of the suite. */
export type DefineCase = (
  id: ConformanceCaseId,
  title: string,
  fn: () => Promise<void>,
  timeout?: number,
) => void;

/** The context with every optional limit filled in. */
export type ResolvedContext = ConformanceContext & {
  maxKeyBytes: number;
  maxKeySegmentBytes: number;
};

/**
 * The behaviour every `ObjectStore` must have, run against real protocol
 * servers (or a real filesystem) by each backend's tests.
 */
export function describeObjectStoreConformance(
  name: string,
  context: () => ConformanceContext,
  options: ConformanceOptions = {},
) {
  const resolved = (): ResolvedContext => {
    const ctx = context();
    return {
      ...ctx,
      maxKeyBytes: ctx.maxKeyBytes ?? 1024,
      maxKeySegmentBytes: ctx.maxKeySegmentBytes ?? 255,
    };
  };
  describe(`${name} ObjectStore conformance`, () => {
    const defined = new Set<string>();
    const define: DefineCase = (id, title, fn, timeout) => {
      if (defined.has(id)) {
        throw new Error(`Conformance case ${id} defined twice`);
      }
      defined.add(id);
      const reason = options.skip?.[id];
      // The expectations are in the case bodies (basicCases, keyCases,
      // writeCases, partCases); a skip is a backend's declared, reasoned exception.
      if (reason) {
        // eslint-disable-next-line jest/no-disabled-tests, jest/expect-expect
        it.skip(`${title} [${id}, skipped: ${reason}]`, fn, timeout);
      } else {
        // eslint-disable-next-line jest/expect-expect
        it(`${title} [${id}]`, fn, timeout);
      }
    };
    basicCases(define, resolved);
    keyCases(define, resolved);
    writeCases(define, resolved);
    partCases(define, resolved);
    for (const id of Object.keys(options.skip ?? {})) {
      if (!defined.has(id)) {
        throw new Error(`Unknown conformance case '${id}' in skip`);
      }
    }
  });
}
