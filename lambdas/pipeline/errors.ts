/** The source delivered more or fewer bytes than its announced size (HeadObject ContentLength). */
export class SourceSizeMismatchError extends Error {
  override readonly name = 'SourceSizeMismatchError';
  constructor(
    readonly expected: number,
    readonly actual: number,
    readonly complete: boolean,
  ) {
    super(
      complete
        ? `source ended after ${actual} bytes, expected ${expected}`
        : `source delivered more than the expected ${expected} bytes (at least ${actual})`,
    );
  }
}

/** Invalid pipeline options (a caller bug, not a transient failure). */
export class PipelineOptionsError extends Error {
  override readonly name = 'PipelineOptionsError';
}

/**
 * Attached to the pipeline's error as `sinkAbortError` when the sink's clean-up (e.g.
 * AbortMultipartUpload) failed too; the pipeline still rejects with the original error.
 */
export interface WithSinkAbortError {
  sinkAbortError?: unknown;
}
