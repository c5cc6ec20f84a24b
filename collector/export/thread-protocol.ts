/**
 * Messages between the main thread and the export thread (see export-thread.ts). Plain
 * data only: they cross threads by structured clone.
 */
import type { LogFields, LogLevel } from '../log.js';
import type { FrameRef } from '../ingest-log/segments.js';
import type { Destination } from './destination.js';
import type { RowFilter } from './row-reader.js';
import type { ExportStatus } from './worker.js';

export type ToExportThread =
  | { type: 'start'; id: string; destination: Destination; publicOnly: boolean; position: number; exported: number }
  /** The ingest log at start-up: its directory, its frames, what is synced and what is loaded into ClickHouse. */
  | { type: 'log'; directory: string; frames: FrameRef[]; durableSeq: number; loadedSeq: number }
  /** A frame was synced to the log. */
  | { type: 'appended'; frame: FrameRef }
  /** Segments were deleted from the log. */
  | { type: 'trimmed'; segments: number[] }
  /** The loader put every row up to `seq` into ClickHouse. */
  | { type: 'loaded'; seq: number }
  | { type: 'stop'; id: string }
  | { type: 'rows'; request: number; data: Uint8Array }
  | { type: 'readFailed'; request: number; message: string }
  | { type: 'flushed'; request: number }
  | { type: 'close' };

export type FromExportThread =
  | { type: 'status'; id: string; status: ExportStatus }
  | { type: 'log'; level: LogLevel; msg: string; fields: LogFields | undefined }
  | { type: 'stopped'; id: string }
  | { type: 'read'; request: number; after: number; through: number; limit: number; filter: RowFilter }
  | { type: 'save'; id: string; position: number }
  | { type: 'flush'; request: number; id: string }
  | { type: 'closed' };
