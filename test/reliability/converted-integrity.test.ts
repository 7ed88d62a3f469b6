// A converted model damaged in the cache (issue #18): garbage of the same size in the weights
// or the graph, a truncated file, missing checksums, a file only touched, and a model.onnx
// that onnxruntime cannot parse although its checksums match. Each damaged conversion is
// detected and rebuilt with a log line saying why; an intact one is reused without a full read.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { openSync, rmSync, statSync, truncateSync, utimesSync, writeSync, closeSync } from "node:fs";
import { join } from "node:path";
import { Checkpoint } from "../../src/checkpoint/checkpoint";
import { CHECKSUMS_FILE, recordChecksums, verifyChecksums } from "../../src/engine/converted-checksums";
import { Engine } from "../../src/engine/engine";
import { ensureConverted } from "../../src/engine/model-store";
import { DATA_FILE, MODEL_FILE } from "../../src/model/convert";
import { DEMO_MODEL, FIXTURES } from "../helpers/fixtures";
import { scratchDirs } from "./helpers";

const { fresh } = scratchDirs("reliability-integrity-");

/** Overwrites `length` bytes in the middle of `path` with garbage: the size stays the same. */
function scribble(path: string, length = 64): void {
  const fd = openSync(path, "r+");
  try {
    writeSync(fd, Buffer.alloc(length, 0x5a), 0, length, Math.floor(statSync(path).size / 2));
  } finally {
    closeSync(fd);
  }
}

describe("converted-model integrity on load", () => {
  it("rebuilds a conversion whose weights or graph were changed on disk (same size), truncated, or lack checksums; says why; reuses an intact one without hashing", async () => {
    const cacheDir = fresh("cache");
    const ckpt = await Checkpoint.open(join(FIXTURES, "random-vd"));
    const logs: string[] = [];
    const log = (l: string) => logs.push(l);
    try {
      const first = await ensureConverted(ckpt, { cacheDir, log });
      assert.equal(first.converted, true);
      assert.ok((await verifyChecksums(first.dir)).ok);

      logs.length = 0;
      const reused = await ensureConverted(ckpt, { cacheDir, log });
      assert.equal(reused.converted, false);
      assert.deepEqual(logs, [], "an unchanged conversion is reused without a full read");

      const cases: Array<[string, () => void, RegExp]> = [
        [
          "garbage in the weights",
          () => scribble(join(first.dir, DATA_FILE)),
          /model\.onnx\.data was changed on disk \(its sha256 is not the one recorded\)/,
        ],
        [
          "garbage in the graph",
          () => scribble(join(first.dir, MODEL_FILE), 16),
          /model\.onnx was changed on disk/,
        ],
        [
          "a truncated weights file",
          () => truncateSync(join(first.dir, DATA_FILE), 1000),
          /a file does not have the size written/,
        ],
        ["no checksums", () => rmSync(join(first.dir, CHECKSUMS_FILE)), /no valid checksums\.json/],
      ];
      for (const [what, damage, why] of cases) {
        damage();
        logs.length = 0;
        const r = await ensureConverted(ckpt, { cacheDir, log });
        assert.equal(r.converted, true, `${what}: rebuilt`);
        const said: string[] = logs.filter((l) => /is damaged: .*; rebuilding it$/.test(l));
        assert.equal(said.length, 1, `${what}: one line says why (${logs.join(" | ")})`);
        assert.match(said[0]!, why, what);
        assert.ok(said[0]!.includes(first.dir), "the line names the folder");
        assert.ok((await verifyChecksums(r.dir)).ok, `${what}: the rebuilt conversion checks`);
      }

      // Touched, not changed: one full read says so and records the new stamp; the next load reads nothing.
      const data = join(first.dir, DATA_FILE);
      utimesSync(data, new Date(), new Date(Date.now() + 5000));
      logs.length = 0;
      assert.equal((await ensureConverted(ckpt, { cacheDir, log })).converted, false);
      assert.deepEqual(logs, [`checked model.onnx.data in ${first.dir}: unchanged`]);
      logs.length = 0;
      assert.equal((await ensureConverted(ckpt, { cacheDir, log })).converted, false);
      assert.deepEqual(logs, []);
    } finally {
      await ckpt.close();
    }
  });

  it("a cached model.onnx that onnxruntime cannot parse (its checksums forged to match) is rebuilt once, with a log line, and the engine runs", async () => {
    const cacheDir = fresh("cache-engine");
    const first = await Engine.open({ modelDir: DEMO_MODEL, ep: "cpu", cacheDir });
    const graph = join(first.convertedDir, MODEL_FILE);
    const reference = await first.generate("def add(a, b):\n", { maxTokens: 6 });
    await first.close();
    const size = statSync(graph).size;
    const fd = openSync(graph, "r+");
    writeSync(fd, Buffer.alloc(size, 0x07), 0, size, 0); // not a protobuf any more
    closeSync(fd);
    await recordChecksums(first.convertedDir); // as if the damage happened before the checksums
    const logs: string[] = [];
    const engine = await Engine.open({ modelDir: DEMO_MODEL, ep: "cpu", cacheDir, log: (l) => logs.push(l) });
    try {
      const said = logs.filter((l) => l.startsWith("onnxruntime could not open the cached conversion"));
      assert.equal(said.length, 1, logs.join(" | "));
      assert.match(said[0]!, /; rebuilding it$/);
      const again = await engine.generate("def add(a, b):\n", { maxTokens: 6 });
      assert.equal(again.text, reference.text, "the rebuilt model gives the same completion");
    } finally {
      await engine.close();
    }
  });
});
