// An expert card's "effect here" on the demo model, through the real engine: it equals
// running the engine with that one expert's steering directly, an expert the prompt never
// routes to changes nothing, scale 1 changes nothing; and `monet-lens expert --prompt` with
// the shipped atlas and its statistics.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expertScores } from "../../src/atlas/expert-contexts";
import { effectAt, oneExpertSteering } from "../../src/atlas/expert-effect";
import { engineEffectModel } from "../../src/cli/experts";
import { Engine } from "../../src/engine/engine";
import { steeringFromIndexLists } from "../../src/engine/steering";
import { DEMO_MODEL, TEST_CACHE } from "../helpers/fixtures";
import { runCli } from "../helpers/cli";

const PROMPT = 'def fibonacci(n):\n    """';

function softmax(row: Float32Array): Float64Array {
  let max = -Infinity;
  for (const v of row) max = Math.max(max, v);
  const p = Float64Array.from(row, (v) => Math.exp(v - max));
  const z = p.reduce((a, b) => a + b, 0);
  return p.map((v) => v / z);
}

describe("expert effect through the engine (demo model)", () => {
  let engine: Engine;
  before(async () => {
    engine = await Engine.open({ modelDir: DEMO_MODEL, ep: "cpu", cacheDir: TEST_CACHE });
  });
  after(async () => engine?.close());

  it("equals the engine run with that expert's steering directly (last position of a full pass, a mask built from index lists)", async () => {
    const x = { group: 0, i: 359, j: 356 };
    const effect = await effectAt(engineEffectModel(engine), PROMPT, x, { top: 8, continuationTokens: 6 });
    const ids = engine.tokenizer.encode(PROMPT);
    const V = engine.config.vocabSize;
    const E = engine.config.moeExperts;
    const lastRow = (all: Float32Array) => all.subarray(all.length - V);
    const plain = softmax(lastRow(await engine.logits(ids)));
    const groups = Array.from({ length: engine.routingGroups }, (_, g) => (g === 0 ? [x.i * E + x.j] : []));
    const masked = softmax(lastRow(await engine.logits(ids, steeringFromIndexLists(groups, E, "direct"))));
    assert.ok(effect.kl > 0.01, `this expert matters after a docstring quote (KL ${effect.kl})`);
    assert.ok(effect.up.length > 0 && effect.down.length > 0);
    for (const t of [...effect.up, ...effect.down, effect.top1.before, effect.top1.after]) {
      assert.ok(Math.abs(t.before - plain[t.id]!) < 1e-6, `p before of ${t.piece}`);
      assert.ok(Math.abs(t.after - masked[t.id]!) < 1e-6, `p after of ${t.piece}`);
      assert.equal(t.piece, engine.tokenizer.idToPiece(t.id));
    }
    // The biggest rise and fall over the whole vocabulary are the card's first entries.
    let up = 0;
    let down = 0;
    for (let k = 0; k < V; k++) {
      if (masked[k]! - plain[k]! > masked[up]! - plain[up]!) up = k;
      if (masked[k]! - plain[k]! < masked[down]! - plain[down]!) down = k;
    }
    assert.equal(effect.up[0]!.id, up);
    assert.equal(effect.down[0]!.id, down);
    let kl = 0;
    for (let k = 0; k < V; k++) if (plain[k]! > 0) kl += plain[k]! * Math.log(plain[k]! / masked[k]!);
    assert.ok(Math.abs(effect.kl - kl) < 1e-5, `${effect.kl} vs ${kl}`);
    // The continuations are the engine's greedy ones, with and without the steering.
    const greedy = async (steering?: ReturnType<typeof oneExpertSteering>) =>
      (await engine.generate(PROMPT, { maxTokens: 6, temperature: 0, steering })).text;
    assert.equal(effect.continuation?.before, await greedy());
    assert.equal(
      effect.continuation?.after,
      await greedy(oneExpertSteering({ ...x, scale: 0 }, { groups: 2, experts: E })),
    );
  });

  it("an expert the prompt never routes to changes nothing; scale 1 changes nothing", async () => {
    const routed = await engine.route(PROMPT);
    const { heads, experts } = routed.shape;
    // The first expert of group 1 with a zero score at every token of the prompt.
    let x: { group: number; i: number; j: number } | undefined;
    for (let e = 0; e < experts * experts && !x; e++) {
      const cand = { group: 1, i: Math.floor(e / experts), j: e % experts };
      if (expertScores(routed.routing, cand, heads, experts).every((s) => s === 0)) x = cand;
    }
    assert.ok(x, "some expert is never routed to");
    const unrouted = await effectAt(engineEffectModel(engine), PROMPT, x, { continuationTokens: 4 });
    assert.ok(unrouted.kl < 1e-9, `KL ${unrouted.kl}`);
    assert.deepEqual(unrouted.up, []);
    assert.deepEqual(unrouted.down, []);
    assert.equal(unrouted.continuation?.after, unrouted.continuation?.before);
    const one = await effectAt(engineEffectModel(engine), PROMPT, { group: 0, i: 359, j: 356 }, { scale: 1 });
    assert.equal(one.kl, 0);
    assert.deepEqual([one.up, one.down], [[], []]);
    // Amplifying moves the other way from masking: the top token under the mask falls.
    const masked = await effectAt(
      engineEffectModel(engine),
      PROMPT,
      { group: 0, i: 359, j: 356 },
      {
        continuationTokens: 0,
      },
    );
    const amplified = await effectAt(
      engineEffectModel(engine),
      PROMPT,
      { group: 0, i: 359, j: 356 },
      {
        scale: 2,
        continuationTokens: 0,
      },
    );
    const riser = masked.up[0]!.id;
    const inAmplified = [...amplified.up, ...amplified.down].find((t) => t.id === riser);
    assert.ok(inAmplified === undefined || inAmplified.delta < 0, "what masking raises, amplifying does not");
    assert.equal(amplified.continuation, undefined);
  });
});

describe("monet-lens expert --prompt (shipped atlas and statistics)", () => {
  const run = runCli;
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "monet-effect-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("adds the effect to the card (JSON and text); --prompt-file; --scale; usage errors", () => {
    const j = run("expert", "g0:359:356", "--prompt", PROMPT, "--effect-tokens", "4", "--json");
    assert.equal(j.code, 0, j.stderr);
    const card = JSON.parse(j.stdout);
    assert.equal(card.owner.id, "python", "the shipped atlas's statistics open for the demo model");
    assert.equal(card.effect.expert, "g0:359:356");
    assert.equal(card.effect.scale, 0);
    assert.ok(card.effect.kl > 0.01);
    assert.equal(typeof card.effect.continuation.before, "string");
    const file = join(dir, "prompt.py");
    writeFileSync(file, PROMPT);
    const t = run("expert", "g0:359:356", "--prompt-file", file, "--scale", "2", "--effect-tokens", "0");
    assert.equal(t.code, 0, t.stderr);
    assert.match(t.stdout, /effect at the end of the prompt, with g0:359:356 alone scaled by 2/);
    assert.match(t.stdout, /KL\(before ‖ after\)/);
    assert.doesNotMatch(t.stdout, /greedy continuation/);
    const bad = run("expert", "g0:359:356", "--scale", "0.5");
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /--scale applies to the effect/);
    const both = run("expert", "g0:359:356", "--prompt", "x", "--prompt-file", file);
    assert.match(both.stderr, /not both/);
    assert.match(run("expert", "g0:359:356", "--prompt", "x", "--scale", "lots").stderr, /--scale must be/);
  });
});
