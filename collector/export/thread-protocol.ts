/**
 * Messages between the main thread and the export thread (see export-thread.ts). Plain
 * data only: they cross threads by structured clone.
 */
import type { LogFields, LogLevel } from '../log.js';
import type { Destination } from './destination.js';
import type { RowFilter } from './row-reader.js';
import type { ExportStatus } from './worker.js';

export type ToExportThread =
  | { type: 'start'; id: string; destination: Destination; publicOnly: boolean; position: number; committedSeq: number }
  /**
   * Rows committed with afterSeq < ingest_seq <= committedSeq; `data` holds all of them as
   * Native blocks when sent, `received` the bytes as received of those that have them, and
   * `receivedLengths` (one per row, 0: none) how many of those bytes each row has.
   */
  | { type: 'committed'; afterSeq: number; committedSeq: number; data?: Uint8Array; received?: Uint8Array; receivedLengths?: Uint32Array }
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
