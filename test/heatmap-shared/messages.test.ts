// The validator of messages from the webview: every shape it accepts, and what it drops.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  MAX_LANGUAGE_ID,
  MAX_TOKEN_INDEX,
  parseWebviewMessage,
  STATUS_ACTIONS,
} from "../../src/heatmap-shared/messages";

const ok = (m: unknown) => {
  const r = parseWebviewMessage(m);
  assert.ok(r.ok, `${JSON.stringify(m)} should pass: ${r.ok ? "" : r.error}`);
};
const bad = (m: unknown, why: RegExp) => {
  const r = parseWebviewMessage(m);
  assert.ok(!r.ok, `${JSON.stringify(m)} should be dropped`);
  assert.match(r.error, why);
};

describe("webview message validation", () => {
  it("accepts every message type in its exact shape", () => {
    ok({ type: "ready" });
    ok({ type: "refresh" });
    ok({ type: "runCompare" });
    ok({ type: "setPinned", pinned: false });
    ok({ type: "toggleMask", language: "python" });
    ok({ type: "toggleMask", language: "objective-cpp" });
    ok({ type: "toggleMask", language: "c++" });
    ok({ type: "selectTokens", seq: 3, from: 0, to: 1 });
    ok({ type: "selectTokens", seq: 0, from: MAX_TOKEN_INDEX - 1, to: MAX_TOKEN_INDEX });
    ok({ type: "setTab", tab: "ab" });
    ok({ type: "setTab", tab: "heatmap" });
    for (const action of STATUS_ACTIONS) ok({ type: "action", action });
    ok({ type: "exportData", format: "json" });
    ok({ type: "exportData", format: "csv" });
    ok({ type: "exportImage", format: "svg", data: '<svg xmlns="http://www.w3.org/2000/svg"></svg>' });
    ok({ type: "exportImage", format: "png", data: "iVBORw0KGgo=" });
  });

  it("drops actions it does not know and exports that are not what they say", () => {
    bad({ type: "action", action: "deleteEverything" }, /action must be one of/);
    bad({ type: "action", action: "workbench.action.terminal.new" }, /action must be one of/);
    bad({ type: "exportData", format: "xlsx" }, /json or csv/);
    bad({ type: "exportData", format: "csv", path: "/etc/passwd" }, /unexpected field "path"/);
    bad({ type: "exportImage", format: "gif", data: "x" }, /svg or png/);
    bad({ type: "exportImage", format: "svg", data: "<html>" }, /must start with <svg/);
    bad({ type: "exportImage", format: "png", data: "not base64!" }, /base64/);
    bad({ type: "exportImage", format: "png", data: "" }, /1 to/);
    bad({ type: "exportImage", format: "svg", data: 5 }, /data must be a string/);
  });

  it("drops what is not a plain object with a known type", () => {
    bad(null, /must be an object/);
    bad("ready", /must be an object/);
    bad([{ type: "ready" }], /not an array/);
    bad(42, /must be an object/);
    bad({}, /unknown message type/);
    bad({ type: "eval", code: "1" }, /unknown message type "eval"/);
    bad({ type: 7 }, /unknown message type number/);
    bad({ type: "constructor" }, /unknown message type/);
    bad({ type: "__proto__" }, /unknown message type/);
    bad(Object.assign(Object.create({ polluted: true }), { type: "ready" }), /plain object/);
  });

  it("drops extra fields, missing fields and wrong field types", () => {
    bad({ type: "ready", extra: 1 }, /unexpected field "extra"/);
    bad({ type: "setPinned" }, /missing field pinned/);
    bad({ type: "setPinned", pinned: "yes" }, /pinned must be a boolean/);
    bad({ type: "setPinned", pinned: 1 }, /pinned must be a boolean/);
    bad({ type: "setTab", tab: "settings" }, /tab must be one of heatmap, ab/);
    bad({ type: "toggleMask", language: 3 }, /language must be a string/);
    bad({ type: "selectTokens", seq: 1, from: 0 }, /missing field to/);
    bad({ type: "selectTokens", seq: "1", from: 0, to: 1 }, /seq must be a non-negative integer/);
  });

  it("checks ranges and string lengths", () => {
    bad({ type: "toggleMask", language: "" }, /1 to 64 characters/);
    bad({ type: "toggleMask", language: "x".repeat(MAX_LANGUAGE_ID + 1) }, /1 to 64 characters, not 65/);
    bad({ type: "toggleMask", language: "py thon" }, /not a language id/);
    bad({ type: "toggleMask", language: "<img src=x>" }, /not a language id/);
    bad({ type: "toggleMask", language: "-python" }, /not a language id/);
    bad({ type: "selectTokens", seq: -1, from: 0, to: 1 }, /seq/);
    bad({ type: "selectTokens", seq: 1.5, from: 0, to: 1 }, /seq/);
    bad({ type: "selectTokens", seq: 1, from: -1, to: 1 }, /from must be an integer/);
    bad({ type: "selectTokens", seq: 1, from: 0.5, to: 1 }, /from must be an integer/);
    bad({ type: "selectTokens", seq: 1, from: 0, to: MAX_TOKEN_INDEX + 1 }, /to must be an integer/);
    bad({ type: "selectTokens", seq: 1, from: 0, to: Number.POSITIVE_INFINITY }, /to must be an integer/);
    bad({ type: "selectTokens", seq: 1, from: 5, to: 5 }, /to must be greater than from/);
    bad({ type: "selectTokens", seq: 1, from: 6, to: 5 }, /to must be greater than from/);
  });

  it("keeps error messages short when given long garbage", () => {
    const r = parseWebviewMessage({ type: "x".repeat(10_000) });
    assert.ok(!r.ok && r.error.length < 100);
    const r2 = parseWebviewMessage({ type: "ready", ["k".repeat(10_000)]: 1 });
    assert.ok(!r2.ok && r2.error.length < 100);
  });
});
