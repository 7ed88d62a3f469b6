// The engine off the caller's thread: a worker that streams, cancels inside its loop,
// keeps the caller responsive, and is restarted after a crash.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { EngineClient } from "../../src/engine/engine-client";
import { EngineCrashedError } from "../../src/engine/errors";
import { DEMO_MODEL, TEST_CACHE } from "../helpers/fixtures";
import { gone } from "../helpers/processes";

describe("engine client (child process)", () => {
  const logs: string[] = [];
  const client = new EngineClient({
    modelDir: DEMO_MODEL,
    ep: "cpu",
    cacheDir: TEST_CACHE,
    log: (l) => logs.push(l),
  });
  before(async () => {
    await client.start();
  });
  after(async () => client.close());

  it("reports the execution provider it started on", () => {
    assert.equal(client.info?.ep, "cpu");
    assert.ok(logs.some((l) => /engine started: .* execution provider cpu/.test(l)));
  });

  it("streams exactly the text it returns, while the caller's thread keeps running", async () => {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    let streamed = "";
    const r = await client.generate(
      { prompt: "def parse(line):\n", maxTokens: 48, ignoreEos: true },
      { onText: (t) => (streamed += t) },
    );
    clearInterval(timer);
    assert.equal(streamed, r.text);
    assert.equal(r.ids.length, 48);
    assert.ok(ticks >= 10, `the caller's event loop ran ${ticks} times during generation`);
  });

  it("cancellation stops the worker's generation, not just the result", async () => {
    const ctrl = new AbortController();
    const r = await client.generate(
      { prompt: "#include <stdio.h>\n", maxTokens: 400, ignoreEos: true },
      { signal: ctrl.signal, onText: () => ctrl.abort() },
    );
    assert.equal(r.stopReason, "cancelled");
    assert.ok(r.ids.length < 40, `stopped after ${r.ids.length} tokens`);
  });

  it("a killed engine fails its request clearly, leaves no process behind, and restarts on the next request", async () => {
    const pid = client.pid!;
    const pending = client.generate(
      { prompt: "function f() {\n", maxTokens: 400, ignoreEos: true },
      { onText: () => client.kill() },
    );
    await assert.rejects(pending, EngineCrashedError);
    assert.ok(gone(pid), "the killed engine process was reaped");
    const r = await client.generate({ prompt: "x = ", maxTokens: 4 });
    assert.ok(r.ids.length > 0);
    assert.ok(logs.filter((l) => l.startsWith("engine started")).length >= 2, "the engine was started again");
    assert.notEqual(client.pid, pid);
  });

  it("unload ends the engine process; the next request starts it again", async () => {
    const pid = client.pid!;
    await client.unload();
    assert.equal(client.pid, undefined);
    assert.ok(gone(pid));
    const r = await client.generate({ prompt: "y = ", maxTokens: 2 });
    assert.ok(r.ids.length > 0);
  });
});
