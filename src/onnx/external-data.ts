// Appends tensor bytes to an ONNX external-data file, so that models of several GB
// never sit in one protobuf (2 GB limit) nor all at once in memory.
import { closeSync, fsyncSync, openSync, writeSync } from "node:fs";
import { basename } from "node:path";

/** Large tensors start on a page boundary so onnxruntime can map them directly. */
const PAGE = 4096;
const SMALL_ALIGN = 64;

export class ExternalDataWriter {
  private fd: number;
  private size = 0;
  /** The file name as the model refers to it (relative to the .onnx file). */
  readonly location: string;

  constructor(
    readonly path: string,
    location = basename(path),
  ) {
    this.fd = openSync(path, "w");
    this.location = location;
  }

  append(bytes: Uint8Array): { offset: number; length: number } {
    const align = bytes.byteLength >= PAGE * 16 ? PAGE : SMALL_ALIGN;
    const pad = (align - (this.size % align)) % align;
    if (pad) {
      writeSync(this.fd, new Uint8Array(pad));
      this.size += pad;
    }
    const offset = this.size;
    let written = 0;
    while (written < bytes.byteLength)
      written += writeSync(this.fd, bytes, written, bytes.byteLength - written);
    this.size += bytes.byteLength;
    return { offset, length: bytes.byteLength };
  }

  get bytesWritten(): number {
    return this.size;
  }

  close(): void {
    if (this.fd < 0) return;
    fsyncSync(this.fd);
    closeSync(this.fd);
    this.fd = -1;
  }
}
