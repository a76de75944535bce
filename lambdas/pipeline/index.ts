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
