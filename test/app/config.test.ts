// Settings: types, ranges, defaults, messages that name the setting; the language switch.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import {
  DEFAULTS,
  engineSettingsChanged,
  languageEnabled,
  readConfig,
  type MonetLensConfig,
} from "../../src/app/config";
import { DTYPE_CHOICES } from "../../src/engine/engine";
import { EP_PREFERENCES } from "../../src/engine/providers";
import { HUGE_PAGES_CHOICES } from "../../src/engine/huge-pages";

const reader = (values: Partial<Record<keyof MonetLensConfig, unknown>>) => (key: keyof MonetLensConfig) =>
  values[key];

describe("configuration", () => {
  it("package.json offers exactly the engine's execution providers, each described", () => {
    const pkg = JSON.parse(readFileSync("package.json", "utf8"));
    const setting = pkg.contributes.configuration.properties["monetLens.executionProvider"];
    assert.deepEqual(setting.enum, [...EP_PREFERENCES]);
    assert.equal(setting.enumDescriptions.length, EP_PREFERENCES.length);
    assert.equal(setting.default, DEFAULTS.executionProvider);
  });

  it("package.json offers exactly the engine's dtypes, each described; a bad one is named and replaced by auto", () => {
    const pkg = JSON.parse(readFileSync("package.json", "utf8"));
    const setting = pkg.contributes.configuration.properties["monetLens.dtype"];
    assert.deepEqual(setting.enum, [...DTYPE_CHOICES]);
    assert.equal(setting.enumDescriptions.length, DTYPE_CHOICES.length);
    assert.equal(setting.default, DEFAULTS.dtype);
    assert.equal(setting.scope, "machine-overridable");
    assert.equal(readConfig(reader({ dtype: "int4" })).config.dtype, "int4");
    const bad = readConfig(reader({ dtype: "int3" }));
    assert.equal(bad.config.dtype, "auto");
    assert.match(
      bad.problems.join("\n"),
      /monetLens\.dtype: "int3" is not one of auto, float32, float16, int8, int4; using "auto"/,
    );
    const a = readConfig(reader({})).config;
    assert.equal(
      engineSettingsChanged(a, { ...a, dtype: "int8" }),
      true,
      "a new precision needs a new engine",
    );
    assert.equal(engineSettingsChanged(a, { ...a, maxTokens: 12 }), false);
  });

  it("hugePages: auto by default, auto/on/off in package.json, the old booleans still read, a bad value named, a change needs a new engine", () => {
    const pkg = JSON.parse(readFileSync("package.json", "utf8"));
    const setting = pkg.contributes.configuration.properties["monetLens.hugePages"];
    assert.deepEqual(setting.enum, [...HUGE_PAGES_CHOICES]);
    assert.equal(setting.enumDescriptions.length, HUGE_PAGES_CHOICES.length);
    assert.equal(setting.default, DEFAULTS.hugePages);
    assert.equal(DEFAULTS.hugePages, "auto");
    assert.equal(readConfig(reader({ hugePages: "on" })).config.hugePages, "on");
    // The setting was a boolean before auto: a user's true or false keeps its meaning.
    assert.equal(readConfig(reader({ hugePages: true })).config.hugePages, "on");
    assert.equal(readConfig(reader({ hugePages: false })).config.hugePages, "off");
    const bad = readConfig(reader({ hugePages: "yes" }));
    assert.equal(bad.config.hugePages, "auto");
    assert.match(
      bad.problems.join("\n"),
      /monetLens\.hugePages: "yes" is not one of auto, on, off; using "auto"/,
    );
    assert.equal(engineSettingsChanged(DEFAULTS, { ...DEFAULTS, hugePages: "on" }), true);
  });

  it("defaults when nothing is set", () => {
    const { config, problems } = readConfig(reader({}));
    assert.deepEqual(config, DEFAULTS);
    assert.deepEqual(problems, []);
    assert.equal(config.temperature, 0, "greedy by default: deterministic suggestions");
  });

  it("reads valid values", () => {
    const { config, problems } = readConfig(
      reader({
        maxTokens: 128,
        temperature: 0.7,
        executionProvider: "cpu",
        debounceMs: 0,
        modelPath: " /models/x ",
        enabledLanguages: ["python", "!markdown"],
        idleUnloadMinutes: 0,
      }),
    );
    assert.deepEqual(problems, []);
    assert.equal(config.maxTokens, 128);
    assert.equal(config.executionProvider, "cpu");
    assert.equal(config.modelPath, "/models/x");
    assert.deepEqual(config.enabledLanguages, ["python", "!markdown"]);
    assert.equal(config.idleUnloadMinutes, 0);
  });

  it("replaces invalid values by the default, naming the setting", () => {
    const { config, problems } = readConfig(
      reader({
        maxTokens: 5000,
        temperature: -1,
        executionProvider: "tpu",
        debounceMs: 12.5,
        enabledLanguages: "python",
        enable: "yes",
      }),
    );
    assert.equal(config.maxTokens, DEFAULTS.maxTokens);
    assert.equal(config.temperature, DEFAULTS.temperature);
    assert.equal(config.executionProvider, "auto");
    assert.equal(config.debounceMs, DEFAULTS.debounceMs);
    assert.deepEqual(config.enabledLanguages, ["*"]);
    assert.equal(config.enable, true);
    assert.equal(problems.length, 6);
    assert.match(
      problems.join("\n"),
      /monetLens\.maxTokens: 5000 is not an integer from 1 to 1024; using 64/,
    );
    assert.match(
      problems.join("\n"),
      /monetLens\.executionProvider: "tpu" is not one of auto, cuda, webgpu, cpu/,
    );
  });

  it("per-language switch and language list", () => {
    assert.ok(languageEnabled("python", ["*"], true));
    assert.ok(languageEnabled("python", ["*"], undefined));
    assert.ok(!languageEnabled("python", ["*"], false), "[python] monetLens.enable: false");
    assert.ok(!languageEnabled("markdown", ["*", "!markdown"], true));
    assert.ok(languageEnabled("go", ["go", "rust"], true));
    assert.ok(!languageEnabled("python", ["go", "rust"], true));
  });
});
