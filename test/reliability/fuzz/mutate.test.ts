// The fuzz suite's own helpers: a case must not change what later cases draw (CI once failed
// on a cyclic value after one case added a key into fast-check's shared `{}` constant).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { type JsonMutation, applyJson, nastyValue, toJsonText } from "./mutate";

describe("fuzz mutations", () => {
  it("applyJson inserts copies: adding into an inserted object leaves the mutation's value as it was", () => {
    const shared: Record<string, unknown> = {};
    const doc = { count: 1, groups: [{ a: 1 }] };
    const muts: JsonMutation[] = [
      { kind: "replace", pick: 0, value: shared },
      // slot 0 is now `count` = the inserted object: adding into it must not reach `shared`
      { kind: "add", pick: 0, key: "languages", value: [shared] },
    ];
    const once = applyJson(doc, muts);
    assert.deepEqual(shared, {});
    assert.deepEqual(doc, { count: 1, groups: [{ a: 1 }] });
    assert.equal(toJsonText(applyJson(doc, muts)), toJsonText(once));
    assert.equal(toJsonText(once), '{"count":{"languages":[{}]},"groups":[{"a":1}]}');
  });

  it("nastyValue draws a fresh object each time", () => {
    const objects = fc
      .sample(nastyValue, { numRuns: 2000, seed: 1 })
      .filter((v): v is object => typeof v === "object" && v !== null);
    assert.ok(objects.length > 10, `only ${objects.length} objects drawn`);
    assert.equal(new Set(objects).size, objects.length);
  });
});
