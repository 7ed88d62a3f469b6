// Writes safetensors files: the header first (it needs only names, dtypes and shapes), then
// each tensor's bytes in order, so a tensor's data can be produced while it is written and
// a multi-GB file never has to be in memory. Written to a temporary name, then renamed.
import { open, rename, rm } from "node:fs/promises";
import { DTYPE_BYTES, numel, type Dtype } from "./safetensors";

/**
 * A tensor's bytes: all at once, or a function returning its chunks in order. The writer
 * consumes each chunk before it asks for the next, so a producer may reuse one buffer.
 */
export type TensorData = Uint8Array | (() => Iterable<Uint8Array> | AsyncIterable<Uint8Array>);

export interface TensorToWrite {
  name: string;
  dtype: Dtype;
  shape: number[];
  data: TensorData;
}

/** Writes below this size are gathered into one buffer (many small norm/bias tensors). */
const GATHER_BYTES = 1 << 20;

/** Byte layout of the header the reference implementation writes for `tensors`. */
export function safetensorsHeaderBytes(
  tensors: readonly Omit<TensorToWrite, "data">[],
  metadata?: Record<string, string>,
): Buffer {
  const header: Record<string, unknown> = {};
  if (metadata) header["__metadata__"] = metadata;
  let offset = 0;
  const seen = new Set<string>();
  for (const t of tensors) {
    if (t.name === "__metadata__" || seen.has(t.name))
      throw new Error(`writeSafetensors: duplicate or reserved tensor name "${t.name}"`);
    seen.add(t.name);
    if (!t.shape.every((d) => Number.isSafeInteger(d) && d >= 0))
      throw new Error(`writeSafetensors: invalid shape ${JSON.stringify(t.shape)} for "${t.name}"`);
    const bytes = numel(t.shape) * DTYPE_BYTES[t.dtype];
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  const json = Buffer.from(JSON.stringify(header), "utf8");
  // Pad with spaces so the data section starts 8-byte aligned, as the reference writer does.
  const padded = Buffer.alloc(Math.ceil(json.length / 8) * 8, 0x20);
  json.copy(padded);
  return padded;
}

export async function writeSafetensors(
  path: string,
  tensors: readonly TensorToWrite[],
  metadata?: Record<string, string>,
): Promise<void> {
  const header = safetensorsHeaderBytes(tensors, metadata);
  const tmp = `${path}.tmp-${process.pid}`;
  const fh = await open(tmp, "w");
  let ok = false;
  try {
    const out = new GatheringWriter(async (b) => {
      // A write may be partial; keep going until the chunk is on its way to disk.
      for (let off = 0; off < b.byteLength; )
        off += (await fh.write(b, off, b.byteLength - off)).bytesWritten;
    });
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(header.length));
    await out.write(len);
    await out.write(header);
    for (const t of tensors) {
      const expected = numel(t.shape) * DTYPE_BYTES[t.dtype];
      let written = 0;
      const chunks = t.data instanceof Uint8Array ? [t.data] : t.data();
      for await (const chunk of chunks) {
        written += chunk.byteLength;
        if (written > expected) break;
        await out.write(chunk);
      }
      if (written !== expected) {
        throw new Error(
          `writeSafetensors: tensor "${t.name}" (${t.dtype} ${JSON.stringify(t.shape)}) needs ${expected} bytes but its data has ${written > expected ? "more" : written}`,
        );
      }
    }
    await out.flush();
    await fh.sync();
    ok = true;
  } finally {
    await fh.close();
    if (!ok) await rm(tmp, { force: true });
  }
  await rename(tmp, path);
}

/** Gathers small writes into one buffer; passes big ones straight through. */
class GatheringWriter {
  private readonly buf = Buffer.allocUnsafe(GATHER_BYTES);
  private used = 0;

  constructor(private readonly sink: (b: Uint8Array) => Promise<void>) {}

  async write(chunk: Uint8Array): Promise<void> {
    if (chunk.byteLength >= GATHER_BYTES) {
      await this.flush();
      await this.sink(chunk);
      return;
    }
    if (this.used + chunk.byteLength > GATHER_BYTES) await this.flush();
    this.buf.set(chunk, this.used);
    this.used += chunk.byteLength;
  }

  async flush(): Promise<void> {
    if (this.used === 0) return;
    await this.sink(this.buf.subarray(0, this.used));
    this.used = 0;
  }
}
