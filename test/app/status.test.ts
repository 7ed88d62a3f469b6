// The status bar: what it says in each state.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { renderStatus, StatusBar, type StatusModel } from "../../src/app/status";
import type { EngineInfo } from "../../src/engine/protocol";
import { fakeStatusItem } from "../helpers/fakes";

const info = {
  modelDir: "/m/tiny-codemonet",
  ep: "cpu",
  fallbacks: ["cuda: not installed"],
  convertedDir: "/c",
  dtype: "int4" as const,
  config: {} as EngineInfo["config"],
  identity: {} as EngineInfo["identity"],
} satisfies EngineInfo;
const base: StatusModel = {
  engine: { kind: "ready", info },
  busy: false,
  modelName: "tiny-codemonet",
  device: "CPU",
  masked: [],
};

describe("status bar", () => {
  it("ready: model, device, masks, latency and speed", () => {
    const r = renderStatus({
      ...base,
      masked: ["lua", "python"],
      last: { latencyMs: 123.4, tokensPerS: 45.2, source: "engine" },
    });
    assert.equal(r.text, "$(sparkle) tiny-codemonet · CPU · −lua,python · 123 ms · 45 tok/s");
    assert.match(r.tooltip, /Masked languages: lua, python/);
    assert.match(r.tooltip, /Skipped providers: cuda: not installed/);
    assert.match(r.tooltip, /Weights: int4 \(quantized; the router stays float32\)/);
    assert.match(
      renderStatus({ ...base, engine: { kind: "ready", info: { ...info, dtype: "float32" } } }).tooltip,
      /Weights: float32\n/,
    );
    assert.equal(r.severity, "normal");
  });

  it("loading, converting, busy, unloaded, disabled and failed are told apart", () => {
    assert.match(
      renderStatus({ ...base, engine: { kind: "loading" } }).text,
      /sync~spin.*loading tiny-codemonet/,
    );
    assert.match(
      renderStatus({ ...base, engine: { kind: "loading", progress: { done: 3, total: 4, what: "layer 3" } } })
        .text,
      /converting 75%/,
    );
    assert.match(renderStatus({ ...base, busy: true }).text, /^\$\(loading~spin\)/);
    assert.match(renderStatus({ ...base, engine: { kind: "unloaded", info } }).text, /unloaded/);
    const off = renderStatus({ ...base, disabled: "Automatic completion is off for markdown" });
    assert.match(off.text, /^\$\(circle-slash\).* off$/);
    assert.match(off.tooltip, /off for markdown/);
    const failed = renderStatus({
      ...base,
      engine: { kind: "failed", message: "the engine stopped 4 times in a row" },
    });
    assert.equal(failed.severity, "error");
    assert.match(failed.text, /^\$\(error\) tiny-codemonet: failed/);
    assert.match(failed.tooltip, /stopped 4 times/);
  });

  it("masks the atlas does not know are a warning", () => {
    const r = renderStatus({ ...base, masked: ["cobol"], maskIgnored: ["cobol"] });
    assert.equal(r.severity, "warning");
    assert.match(r.tooltip, /no effect\): cobol/);
  });

  it("applies renders to the item only when something changed", () => {
    let applied = 0;
    const item = fakeStatusItem();
    const bar = new StatusBar(
      item,
      (it, r) => {
        applied++;
        it.text = r.text;
      },
      base,
    );
    bar.update({ busy: false });
    assert.equal(applied, 1);
    bar.update({ masked: ["python"] });
    assert.equal(applied, 2);
    assert.match(item.text, /−python/);
  });
});
