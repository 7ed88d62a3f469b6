// Typing load, short: 200 keystrokes at 20 per second against the real engine, with the
// invariants of `npm run load-test` (no timing assertions: the figures are the benchmark's).
// And the fix it led to: a generation cancelled while it waits for the engine does no work.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { EngineClient } from "../../src/engine/engine-client";
import { CancelledError } from "../../src/engine/errors";
import { DEMO_MODEL, TEST_CACHE } from "../helpers/fixtures";
import { runTypingLoad } from "./load-session";

describe("typing load (200 keystrokes)", () => {
  it("cancels every superseded request, runs one generation at a time, stays flat in memory, and ends on a fresh request's suggestion", async () => {
    const r = await runTypingLoad({ keystrokes: 200, rate: 20 });
    assert.deepEqual(r.failures, []);
    assert.equal(r.supersededNotCancelled, 0);
    assert.equal(r.maxConcurrentEngine, 1);
    assert.equal(r.maxConcurrentCaller, 1);
    assert.equal(r.pendingCancelsAtEnd, 0);
    // How many are superseded depends on the engine's speed; that some were, and that every
    // superseded one was cancelled (above), does not.
    assert.ok(
      r.generations > 20 && r.cancelled > 0,
      `${r.cancelled} of ${r.generations} generations cancelled`,
    );
    assert.equal(
      r.lastGeneration,
      r.freshGeneration,
      "the last suggestion's generation is what a fresh engine gives",
    );
  });

  it("a generation cancelled before its turn in the engine does no forward pass", async () => {
    const client = new EngineClient({ modelDir: DEMO_MODEL, ep: "cpu", cacheDir: TEST_CACHE });
    try {
      await client.start();
      const ctrl = new AbortController();
      // Superseded while the first one runs (its first text has come back), so already sent to the engine.
      const busy = client.generate(
        { prompt: "def long_function():\n", maxTokens: 60, ignoreEos: true },
        { onText: () => ctrl.abort() },
      );
      const queued = client.generate(
        { prompt: "class Other:\n    def method(self):\n", maxTokens: 20 },
        { signal: ctrl.signal },
      );
      const [a, b] = await Promise.all([busy, queued]);
      assert.equal(a.ids.length, 60);
      assert.equal(b.stopReason, "cancelled");
      assert.equal(b.prefillMs, 0, "no prefill for a request nobody waits for");
      assert.deepEqual(b.ids, []);
      const stats = (await client.stats())!;
      assert.equal(stats.maxRunning, 1);
      assert.equal(stats.pendingCancels, 0);
      // And one aborted while the engine was still starting is not sent at all.
      await client.unload();
      const early = new AbortController();
      const starting = client.generate({ prompt: "x = ", maxTokens: 5 }, { signal: early.signal });
      early.abort();
      await assert.rejects(starting, CancelledError);
    } finally {
      await client.close();
    }
  });
});
