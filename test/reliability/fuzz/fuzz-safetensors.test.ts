// Fuzz: the safetensors reader (SafetensorsFile.open, then every tensor read and decoded) on
// thousands of mutated files: byte-level damage (focused on the header), mutated header JSON
// (any value replaced by another type, a huge or negative number, removed, a key added), and
// arbitrary 8-byte header lengths. Each is a CheckpointError naming the file, or a file whose
// every tensor reads and decodes; never another error, never a hang.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { CheckpointError } from "../../../src/checkpoint/errors";
import { SafetensorsFile, toFloat32, type Dtype } from "../../../src/checkpoint/safetensors";
import { safetensorsHeaderBytes } from "../../../src/checkpoint/safetensors-writer";
import { scratchDirs } from "../helpers";
import {
  applyBytes,
  applyJson,
  byteMutations,
  clearErrorOrValid,
  fuzz,
  jsonMutations,
  runs,
  toJsonText,
} from "./mutate";

const { fresh } = scratchDirs("fuzz-safetensors-");
const file = join(fresh("files"), "model.safetensors");

const TENSORS: Array<{ name: string; dtype: Dtype; shape: number[] }> = [
  { name: "a.weight", dtype: "F32", shape: [3, 4] },
  { name: "b.weight", dtype: "BF16", shape: [5] },
  { name: "c.weight", dtype: "F16", shape: [2, 2] },
  { name: "d.num_batches_tracked", dtype: "I64", shape: [2] },
  { name: "e.empty", dtype: "F32", shape: [0, 3] },
];
const header = safetensorsHeaderBytes(TENSORS, { format: "pt" });
const data = Buffer.from(Array.from({ length: 12 * 4 + 5 * 2 + 4 * 2 + 2 * 8 }, (_, i) => (i * 37) & 0xff));
const withHeader = (h: Buffer, length: bigint = BigInt(h.length)) => {
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(length);
  return Buffer.concat([len, h, data]);
};
const BASE = withHeader(header);
const HEADER_JSON = JSON.parse(header.toString("utf8")) as Record<string, unknown>;

/** Opens `bytes` as a file and reads and decodes every tensor. */
async function readAll(bytes: Uint8Array): Promise<"valid" | "refused"> {
  writeFileSync(file, bytes);
  return clearErrorOrValid(file, [CheckpointError], async () => {
    const st = await SafetensorsFile.open(file);
    try {
      for (const e of st.tensors.values()) {
        const raw = await st.readTensorBytes(e.name);
        assert.equal(raw.length, e.end - e.begin);
        if (e.dtype !== "I64") toFloat32(raw, e.dtype);
      }
    } finally {
      await st.close();
    }
  });
}

describe("fuzz: safetensors reader", () => {
  it("the unmutated file reads", async () => {
    assert.equal(await readAll(BASE), "valid");
  });

  const tally = { valid: 0, refused: 0 };
  const count = (o: "valid" | "refused"): void => {
    tally[o]++;
  };

  it(`byte-level damage (${runs(1500)} files)`, async (t) => {
    const focus = (8 + header.length) / BASE.length;
    await fuzz(
      fc.asyncProperty(byteMutations(focus), async (m) => count(await readAll(applyBytes(BASE, m)))),
      runs(1500),
    );
    t.diagnostic(`so far: ${tally.valid} valid, ${tally.refused} refused with a clear error`);
  });

  it(`mutated header JSON (${runs(1500)} files)`, async (t) => {
    await fuzz(
      fc.asyncProperty(jsonMutations(["dtype", "shape", "data_offsets", "__metadata__"]), async (m) => {
        const text = Buffer.from(toJsonText(applyJson(HEADER_JSON, m)), "utf8");
        count(await readAll(withHeader(text)));
      }),
      runs(1500),
    );
    t.diagnostic(`so far: ${tally.valid} valid, ${tally.refused} refused with a clear error`);
  });

  it(`arbitrary header lengths (${runs(300)} files)`, async (t) => {
    await fuzz(
      fc.asyncProperty(
        fc.oneof(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), fc.bigInt({ min: 0n, max: 2000n })),
        async (len) => count(await readAll(withHeader(header, len))),
      ),
      runs(300),
    );
    t.diagnostic(`total: ${tally.valid} valid, ${tally.refused} refused with a clear error`);
  });
});
