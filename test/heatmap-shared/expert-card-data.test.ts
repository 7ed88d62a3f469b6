// The expert messages' validation and the card search box's grammar.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { MAX_SCALE, parseExpertQuery } from "../../src/heatmap-shared/expert-card-data";
import { parseWebviewMessage } from "../../src/heatmap-shared/messages";

const ok = (m: unknown) => {
  const r = parseWebviewMessage(m);
  assert.ok(r.ok, `${JSON.stringify(m)} should pass: ${r.ok ? "" : r.error}`);
};
const bad = (m: unknown, why: RegExp) => {
  const r = parseWebviewMessage(m);
  assert.ok(!r.ok, `${JSON.stringify(m)} should be dropped`);
  assert.match(r.error, why);
};

describe("expert card messages and search", () => {
  it("accepts the expert messages in their exact shapes", () => {
    ok({ type: "openExpert", expert: "g0:359:356" });
    ok({ type: "findExperts", query: "top experts of rust" });
    ok({ type: "findExperts", query: "" });
    ok({ type: "expertContexts", expert: "g1:0:511", from: "file" });
    ok({ type: "expertContexts", expert: "g1:0:511", from: "workspace" });
    ok({ type: "expertEffect", expert: "g0:1:2", scale: 0 });
    ok({ type: "expertEffect", expert: "g0:1:2", scale: MAX_SCALE });
    ok({ type: "setExpertScale", expert: "g0:1:2", scale: 1.5 });
    ok({ type: "addToExpertSet", expert: "g0:1:2", set: "docstrings v2" });
    ok({ type: "applyExpertSet", set: "docstrings", scale: 0 });
    ok({ type: "setTab", tab: "expert" });
  });

  it("drops bad ids, scales, set names, sources, long queries and extra fields", () => {
    bad({ type: "openExpert", expert: "g0:359" }, /expert must be an expert id/);
    bad({ type: "openExpert", expert: "0:1:2" }, /expert must be an expert id/);
    bad({ type: "openExpert", expert: "g0:1:2 " }, /expert must be an expert id/);
    bad({ type: "openExpert", expert: "g0:1:1234567" }, /expert must be an expert id/);
    bad({ type: "openExpert", expert: 7 }, /expert must be an expert id/);
    bad({ type: "openExpert", expert: "g0:1:2", extra: true }, /unexpected field "extra"/);
    bad({ type: "findExperts", query: "x".repeat(81) }, /at most 80 characters/);
    bad({ type: "expertEffect", expert: "g0:1:2", scale: -0.1 }, /scale must be a number in \[0, 10\]/);
    bad({ type: "expertEffect", expert: "g0:1:2", scale: Number.NaN }, /scale must be/);
    bad({ type: "expertEffect", expert: "g0:1:2", scale: "0" }, /scale must be/);
    bad({ type: "setExpertScale", expert: "g0:1:2", scale: 10.5 }, /scale must be/);
    bad({ type: "setExpertScale", expert: "g0:1:2" }, /missing field scale/);
    bad({ type: "addToExpertSet", expert: "g0:1:2", set: "" }, /set must be 1 to 40/);
    bad({ type: "addToExpertSet", expert: "g0:1:2", set: " lead" }, /set must be/);
    bad({ type: "addToExpertSet", expert: "g0:1:2", set: "<b>" }, /set must be/);
    bad({ type: "addToExpertSet", expert: "g0:1:2", set: "x".repeat(41) }, /set must be/);
    bad({ type: "expertContexts", expert: "g0:1:2", from: "disk" }, /from must be one of file, workspace/);
  });

  it("search: an expert id (any case, spaces around), or a language's strongest experts", () => {
    assert.deepEqual(parseExpertQuery(" G0:359:356 "), { kind: "expert", expert: "g0:359:356" });
    assert.deepEqual(parseExpertQuery("rust"), { kind: "language", language: "rust", top: 20 });
    assert.deepEqual(parseExpertQuery("top experts of Rust"), {
      kind: "language",
      language: "rust",
      top: 20,
    });
    assert.deepEqual(parseExpertQuery("top 5 experts of c++"), { kind: "language", language: "c++", top: 5 });
    assert.deepEqual(parseExpertQuery("strongest experts for python"), {
      kind: "language",
      language: "python",
      top: 20,
    });
    assert.deepEqual(parseExpertQuery("experts of lua"), { kind: "language", language: "lua", top: 20 });
    assert.deepEqual(parseExpertQuery("plaintext experts"), {
      kind: "language",
      language: "plaintext",
      top: 20,
    });
    assert.deepEqual(parseExpertQuery("top 500 experts of go"), {
      kind: "language",
      language: "go",
      top: 100,
    });
    assert.equal(parseExpertQuery("g0:359").kind, "invalid");
    assert.match((parseExpertQuery("g0:359") as { error: string }).error, /not an expert id/);
    assert.equal(parseExpertQuery("what does this do?").kind, "invalid");
    assert.equal(parseExpertQuery("   ").kind, "invalid");
  });
});
