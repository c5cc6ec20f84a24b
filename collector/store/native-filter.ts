/**
 * Drops rows from a Native block: the loader leaves out rows already stored (a replay
 * after a crash, a retry of an insert whose answer was lost) and copies of events the
 * sort key cannot collapse. Rare, so it decodes the block and writes it again.
 */
import { readNativeColumn, type NativeBlockIndex, type NativeValue } from './native-reader.js';
import { NativeWriter } from './native-writer.js';

function writeValues(w: NativeWriter, type: string, values: NativeValue[]): void {
  if (type === 'String') for (const v of values) w.string(v as string);
  else if (type === 'UInt64') for (const v of values) w.uint64(v as number);
  else if (type.startsWith('DateTime64(')) for (const v of values) w.int64(v as string);
  else if (type === 'UInt8') for (const v of values) w.uint8(v as number);
  else if (type === 'UInt16') for (const v of values) w.uint16(v as number);
  else if (type === 'Map(String, String)') {
    let entries = 0;
    for (const v of values) {
      entries += Object.keys(v as Record<string, string>).length;
      w.uint64(entries);
    }
    for (const v of values) for (const key of Object.keys(v as Record<string, string>)) w.string(key);
    for (const v of values) for (const value of Object.values(v as Record<string, string>)) w.string(value);
  } else throw new Error(`no Native encoding for column type ${type}`);
}

/** The block's rows for which keep(row) holds, as one block (empty when none is kept). */
export function filterNativeBlock(data: Buffer, index: NativeBlockIndex, keep: (row: number) => boolean): Buffer {
  const kept: number[] = [];
  for (let i = 0; i < index.rows; i++) if (keep(i)) kept.push(i);
  if (kept.length === 0) return Buffer.alloc(0);
  const w = new NativeWriter(data.length);
  w.varUInt(index.columns.size);
  w.varUInt(kept.length);
  for (const [name, column] of index.columns) {
    w.string(name);
    w.string(column.type);
    const values = readNativeColumn(data, column, index.rows);
    writeValues(w, column.type, kept.map((i) => values[i]!));
  }
  return w.finish();
}
