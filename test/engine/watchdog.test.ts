// The watchdog's rules on their own (src/engine/watchdog.ts): silence past the bound is a hang,
// said once; a stalled busy engine is a hang, an idle one is not; a late timer on the caller's
// side (its thread blocked, the machine asleep) is not taken for the engine's silence.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Watchdog } from "../../src/engine/watchdog";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Waits until `said` has a line (at most 10 s: a loaded machine delays timers). */
async function firstLine(said: string[]): Promise<void> {
  const end = performance.now() + 10_000;
  while (said.length === 0 && performance.now() < end) await sleep(50);
}
/** Blocks this thread, as a busy extension host would. */
const block = (ms: number) => {
  const end = performance.now() + ms;
  while (performance.now() < end);
};

describe("engine watchdog rules", () => {
  it("silence past the bound is a hang, said once", async () => {
    const said: string[] = [];
    const w = new Watchdog({ silenceMs: 1000, firstBeatMs: 1000 }, (why) => said.push(why));
    w.beat({ busy: 0, stalledMs: 0 });
    const t0 = performance.now();
    await firstLine(said);
    assert.ok(performance.now() - t0 >= 1000, "not before the bound");
    await sleep(1500);
    w.stop();
    assert.equal(said.length, 1);
    assert.match(said[0]!, /gave no sign of life for \d+(\.\d)? s \(it is stopped or frozen\)/);
  });

  it("beats keep it quiet; a busy engine without progress past the stall bound is a hang, an idle one is not", async () => {
    const said: string[] = [];
    const w = new Watchdog({ silenceMs: 5000, stallMs: 1000 }, (why) => said.push(why));
    for (let i = 0; i < 8; i++) {
      w.beat({ busy: 0, stalledMs: 60_000 }); // idle: its stall clock means nothing
      await sleep(100);
    }
    assert.deepEqual(said, []);
    w.beat({ busy: 1, stalledMs: 1500 });
    await firstLine(said);
    w.stop();
    assert.equal(said.length, 1);
    assert.match(said[0]!, /made no progress on its request for 1\.5 s \(it is stuck\)/);
  });

  it("a late timer on the caller's side is not the engine's silence", async () => {
    const said: string[] = [];
    const w = new Watchdog({ silenceMs: 1000, firstBeatMs: 1000 }, (why) => said.push(why));
    w.beat({ busy: 0, stalledMs: 0 });
    block(3000); // longer than the bound, but we were the ones not running
    await sleep(400);
    assert.deepEqual(said, [], "no hang declared for our own stall");
    await firstLine(said);
    w.stop();
    assert.equal(said.length, 1, "silence after that still counts");
  });
});
