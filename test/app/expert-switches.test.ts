// Single experts switched from expert cards: persisted per workspace (bad saved state
// dropped), named sets, bounds, and their steering folded into the languages'.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ExpertSwitches, withExpertScales } from "../../src/app/expert-switches";
import { steeringFromIndexLists } from "../../src/engine/steering";
import { FakeMemento } from "../helpers/fakes";

describe("expert switches", () => {
  it("scales and sets persist in the workspace state; 1 removes a switch; changes are announced", async () => {
    const state = new FakeMemento();
    const s = new ExpertSwitches(state);
    const seen: number[] = [];
    s.onDidChange((x) => seen.push(x.scales.length));
    await s.setScale("g0:1:2", 0);
    await s.setScale("g1:3:4", 1.5);
    await s.setScale("g1:3:4", 1.5); // no change, no event
    await s.addToSet("g0:1:2", "quotes");
    await s.addToSet("g0:5:6", "quotes");
    await s.addToSet("g0:5:6", "quotes");
    assert.deepEqual(seen, [1, 2, 2, 2]);
    const again = new ExpertSwitches(state);
    assert.deepEqual(again.current(), {
      scales: [
        ["g0:1:2", 0],
        ["g1:3:4", 1.5],
      ],
      sets: [{ name: "quotes", experts: ["g0:1:2", "g0:5:6"] }],
    });
    await again.applySet("quotes", 0);
    assert.deepEqual(again.scaled(), [
      ["g0:1:2", 0],
      ["g0:5:6", 0],
      ["g1:3:4", 1.5],
    ]);
    await again.applySet("quotes", 1);
    await again.setScale("g1:3:4", 1);
    assert.deepEqual(again.scaled(), []);
    await assert.rejects(again.setScale("g0:1", 0), /not an expert id/);
    await assert.rejects(again.setScale("g0:1:2", -1), /a scale is a number in \[0, 10\]/);
    await assert.rejects(again.addToSet("g0:1:2", "<x>"), /not a set name/);
    await assert.rejects(again.applySet("none", 0), /no expert set "none"/);
  });

  it("bad saved state is dropped, not trusted", () => {
    const state = new FakeMemento();
    state.data.set("monetLens.expertScales", {
      "g0:1:2": 0,
      "g0:1": 0,
      "g0:2:2": -3,
      "g0:3:3": 1,
      "g0:4:4": "0",
    });
    state.data.set("monetLens.expertSets", {
      ok: ["g0:1:2", 5, "bad"],
      "<bad>": ["g0:1:2"],
      other: "g0:1:2",
    });
    assert.deepEqual(new ExpertSwitches(state).current(), {
      scales: [["g0:1:2", 0]],
      sets: [{ name: "ok", experts: ["g0:1:2"] }],
    });
    state.data.set("monetLens.expertScales", "nonsense");
    assert.deepEqual(new ExpertSwitches(state).current().scales, []);
  });

  it("folded into the languages' steering: products where both apply, out-of-shape experts ignored", () => {
    const shape = { groups: 2, experts: 8 };
    const lang = steeringFromIndexLists([[1 * 8 + 2, 9], [5]], 8, "−python");
    const r = withExpertScales(
      lang,
      [
        ["g0:1:2", 2],
        ["g0:3:3", 0],
        ["g1:0:7", 0.5],
        ["g2:0:0", 0],
        ["g0:9:0", 0],
      ],
      shape,
    );
    assert.deepEqual(r.ignored, ["g2:0:0", "g0:9:0"]);
    assert.deepEqual(r.steering!.groups[0], { indices: [9, 10, 27], scales: [0, 0, 0] });
    assert.deepEqual(r.steering!.groups[1], { indices: [5, 7], scales: [0, 0.5] });
    assert.match(r.steering!.label, /^−python, g0:1:2×2/);
    assert.equal(withExpertScales(lang, [], shape).steering, lang);
    const alone = withExpertScales(undefined, [["g1:0:7", 3]], shape).steering!;
    assert.deepEqual(alone.groups, [
      { indices: [], scales: [] },
      { indices: [7], scales: [3] },
    ]);
    assert.equal(withExpertScales(undefined, [["g1:0:7", 1]], shape).steering, undefined);
  });
});
