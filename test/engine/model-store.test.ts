// The converted-model cache: conversion once, a damaged entry rebuilt, concurrent
// conversions serialised by the lock, a run-time provider failure answered by a fallback.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, rmSync, truncateSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type * as ort from "../../src/engine/ort";
import { Checkpoint } from "../../src/checkpoint/checkpoint";
import { ensureConverted } from "../../src/engine/model-store";
import { openSession } from "../../src/engine/session";
import { MonetRunner } from "../../src/engine/runner";
import { KvCache } from "../../src/engine/kv-cache";
import { DATA_FILE, MANIFEST_FILE } from "../../src/model/convert";
import { FIXTURES } from "../helpers/fixtures";

describe("converted-model cache", () => {
  const fixture = join(FIXTURES, "random-vd");

  it("converts once, then reuses; a truncated or corrupted entry is detected and rebuilt", async () => {
    const cacheDir = mkdtempSync(join(tmpdir(), "monet-store-"));
    try {
      const ckpt = await Checkpoint.open(fixture);
      const progress: Array<[number, number]> = [];
      const first = await ensureConverted(ckpt, {
        cacheDir,
        onProgress: (done, total) => progress.push([done, total]),
      });
      assert.equal(first.converted, true);
      assert.ok(progress.length >= ckpt.config.numLayers, "progress is reported per layer");
      assert.ok(
        progress.every(([d], i) => i === 0 || d > progress[i - 1]![0]),
        "progress only moves forward",
      );
      assert.equal(progress.at(-1)![0], progress.at(-1)![1], "and ends at 100%");
      const again = await ensureConverted(ckpt, { cacheDir });
      assert.equal(again.converted, false);
      assert.equal(again.dir, first.dir);

      truncateSync(join(first.dir, DATA_FILE), statSync(join(first.dir, DATA_FILE)).size - 100);
      const rebuilt = await ensureConverted(ckpt, { cacheDir, log: () => undefined });
      assert.equal(rebuilt.converted, true, "a truncated weights file is not taken for a good one");

      writeFileSync(join(rebuilt.dir, MANIFEST_FILE), "{not json");
      assert.equal(
        (await ensureConverted(ckpt, { cacheDir })).converted,
        true,
        "a corrupt manifest is rebuilt",
      );
      await ckpt.close();
      // No temporary folders or locks are left behind.
      assert.deepEqual(
        readdirSync(join(cacheDir, "converted")).filter((n) => n.includes(".tmp-") || n.endsWith(".lock")),
        [],
      );
    } finally {
      rmSync(cacheDir, { recursive: true, force: true });
    }
  });

  it("two conversions of the same model at once: one converts, the other waits and reuses it", async () => {
    const cacheDir = mkdtempSync(join(tmpdir(), "monet-store-"));
    try {
      const [a, b] = await Promise.all([Checkpoint.open(fixture), Checkpoint.open(fixture)]);
      const results = await Promise.all([
        ensureConverted(a!, { cacheDir }),
        ensureConverted(b!, { cacheDir }),
      ]);
      assert.deepEqual(results.map((r) => r.converted).sort(), [false, true]);
      await Promise.all([a!.close(), b!.close()]);
    } finally {
      rmSync(cacheDir, { recursive: true, force: true });
    }
  });

  it("a provider that fails at run time is replaced and the run retried", async () => {
    const cacheDir = mkdtempSync(join(tmpdir(), "monet-store-"));
    try {
      const ckpt = await Checkpoint.open(fixture);
      const converted = await ensureConverted(ckpt, { cacheDir });
      // A GPU session that fails at run time: the real graph's inputs, every run an error.
      const inputNames = (await openSession(converted.modelPath, { ep: "cpu" })).session.inputNames;
      const failing = {
        inputNames,
        run: async () => Promise.reject(new Error("CUDA error: an illegal memory access")),
      } as unknown as ort.InferenceSession;
      const reasons: string[] = [];
      const runner = new MonetRunner(failing, ckpt.config, async (e) => {
        reasons.push((e as Error).message);
        return (await openSession(converted.modelPath, { ep: "cpu" })).session;
      });
      const cache = KvCache.empty({
        numLayers: ckpt.config.numLayers,
        numKvHeads: ckpt.config.numKvHeads,
        headDim: ckpt.config.headDim,
      });
      const out = await runner.forward({ ids: [1, 5, 7], cache });
      assert.equal(out.logits.length, ckpt.config.vocabSize);
      assert.deepEqual(reasons, ["CUDA error: an illegal memory access"]);
      await ckpt.close();
    } finally {
      rmSync(cacheDir, { recursive: true, force: true });
    }
  });
});
