// The suggestion cache: exact hits, typing through a suggestion, keys, eviction.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { SuggestionCache } from "../../src/completion/suggestion-cache";

describe("suggestion cache", () => {
  it("returns an exact hit, and the rest of a suggestion being typed through", () => {
    const c = new SuggestionCache();
    c.put("k", "def f(", "a, b):");
    assert.deepEqual(c.get("k", "def f("), { text: "a, b):", typed: 0 });
    assert.deepEqual(c.get("k", "def f(a"), { text: ", b):", typed: 1 });
    assert.deepEqual(c.get("k", "def f(a, b)"), { text: ":", typed: 5 });
    assert.equal(c.get("k", "def f(a, b):"), undefined, "fully typed: nothing left");
    assert.equal(c.get("k", "def f(x"), undefined, "typed something else");
    assert.equal(c.get("other", "def f("), undefined, "another model or mask state");
  });

  it("prefers the longest matching prompt and caches empty results", () => {
    const c = new SuggestionCache();
    c.put("k", "x", " = compute()");
    c.put("k", "x = ", "compute(1)");
    assert.deepEqual(c.get("k", "x = c"), { text: "ompute(1)", typed: 1 });
    c.put("k", "y", "");
    assert.deepEqual(c.get("k", "y"), { text: "", typed: 0 });
  });

  it("evicts the least recently used entry", () => {
    const c = new SuggestionCache(2);
    c.put("k", "a", "1");
    c.put("k", "b", "2");
    c.get("k", "a");
    c.put("k", "c", "3");
    assert.equal(c.size, 2);
    assert.equal(c.get("k", "b"), undefined);
    assert.ok(c.get("k", "a"));
  });
});
