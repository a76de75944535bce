export {
  buildImageFile,
  defaultChunksInFlight,
  COMPRESSIONS,
  DEFAULT_CHUNK_SIZE,
  DEFAULT_GZIP_LEVEL,
  type BuildImageFileOptions,
  type Compression,
  type PipelineResult,
  type PipelineStats,
} from './build';
export { SourceSizeMismatchError, PipelineOptionsError, type WithSinkAbortError } from './errors';
export { createMemorySink, createDiscardSink, type PipelineSink, type MemorySink, type DiscardSink } from './sink';
export {
  createS3MultipartSink,
  multipartChecksumAlgorithm,
  partSizeFor,
  DEFAULT_PART_SIZE,
  DEFAULT_QUEUE_SIZE,
  MIN_PART_SIZE,
  MAX_PARTS,
  type S3MultipartSink,
  type S3MultipartSinkOptions,
  type S3ObjectParams,
  type S3SinkResult,
} from './s3-sink';
export {
  detectFormat,
  UnsupportedFormatError,
  DETECT_HEAD_BYTES,
  DETECT_TAIL_BYTES,
  type DetectInput,
  type DetectedFormat,
} from './detect-format';
export { gzipPadding } from './gzip-padding';
