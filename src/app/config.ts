// The extension's settings, read and validated in one place. A value of the wrong type
// or out of range is reported with the setting's name and replaced by the default.
import { homedir } from "node:os";
import { isAbsolute, join, resolve } from "node:path";
// providers.ts, not session.ts (which loads onnxruntime): the extension host never loads the
// native runtime (the engine process does).
import type { DtypeChoice } from "../engine/engine";
import { HUGE_PAGES_CHOICES, type HugePagesChoice } from "../engine/huge-pages";
import { PROTOCOL_DTYPES } from "../engine/protocol-check";
import { EP_PREFERENCES, type EpPreference } from "../engine/providers";
import { isRepoRef } from "../hub/repo-ref";

export const SECTION = "monetLens";

export interface MonetLensConfig {
  /** Automatic completion (its default; each language may override it). */
  enable: boolean;
  /** Checkpoint folder or Hugging Face repo id (`org/name[@revision]`); "" = the embedded demo model. */
  modelPath: string;
  executionProvider: EpPreference;
  /** The converted model's precision (docs/quantization.md); auto: src/engine/dtype.ts. */
  dtype: DtypeChoice;
  /** Intra-op threads on CPU; 0 = automatic. */
  threads: number;
  /** Transparent huge pages asked of glibc for the engine (Linux; auto: large models; src/engine/huge-pages.ts). */
  hugePages: HugePagesChoice;
  maxTokens: number;
  temperature: number;
  topP: number;
  debounceMs: number;
  timeLimitMs: number;
  contextTokens: number;
  /** Language ids with automatic completion; "*" = all, "!id" excludes one. */
  enabledLanguages: string[];
  /** 0 = never unload. */
  idleUnloadMinutes: number;
  /** Atlas file; "" = the workspace-built or shipped atlas for the model. */
  atlasPath: string;
}

export const DEFAULTS: Readonly<MonetLensConfig> = {
  enable: true,
  modelPath: "",
  executionProvider: "auto",
  dtype: "auto",
  threads: 0,
  hugePages: "auto",
  maxTokens: 64,
  temperature: 0,
  topP: 0.9,
  debounceMs: 150,
  timeLimitMs: 3000,
  contextTokens: 1024,
  enabledLanguages: ["*"],
  idleUnloadMinutes: 15,
  atlasPath: "",
};

/** Reads one setting of the section (VS Code: WorkspaceConfiguration.get). */
export type SettingReader = (key: keyof MonetLensConfig) => unknown;

export interface ReadConfig {
  config: MonetLensConfig;
  /** One line per invalid setting, naming it. */
  problems: string[];
}

export function readConfig(read: SettingReader): ReadConfig {
  const problems: string[] = [];
  const bad = (key: keyof MonetLensConfig, value: unknown, expected: string) => {
    problems.push(
      `${SECTION}.${key}: ${JSON.stringify(value)} is not ${expected}; using ` +
        `${JSON.stringify(DEFAULTS[key])}`,
    );
  };
  const num = (key: NumericKey, min: number, max: number, integer: boolean): number => {
    const v = read(key);
    if (v === undefined || v === null) return DEFAULTS[key];
    if (
      typeof v !== "number" ||
      !Number.isFinite(v) ||
      (integer && !Number.isInteger(v)) ||
      v < min ||
      v > max
    ) {
      bad(key, v, `${integer ? "an integer" : "a number"} from ${min} to ${max}`);
      return DEFAULTS[key];
    }
    return v;
  };
  const str = (key: "modelPath" | "atlasPath"): string => {
    const v = read(key);
    if (v === undefined || v === null) return DEFAULTS[key];
    if (typeof v !== "string") {
      bad(key, v, "a path (string)");
      return DEFAULTS[key];
    }
    const checked = key === "modelPath" ? normaliseModelSetting(v) : normaliseSettingPath(v);
    if (checked.problem !== undefined) {
      bad(key, v.length > 200 ? `${v.slice(0, 200)}…` : v, checked.problem);
      return DEFAULTS[key];
    }
    return checked.path;
  };
  /** A setting with a fixed list of values (an enum in package.json). */
  const choice = <K extends "executionProvider" | "dtype" | "hugePages">(
    key: K,
    allowed: readonly MonetLensConfig[K][],
  ): MonetLensConfig[K] => {
    const v = read(key);
    if (v === undefined || v === null) return DEFAULTS[key];
    if (typeof v !== "string" || !(allowed as readonly string[]).includes(v)) {
      bad(key, v, `one of ${allowed.join(", ")}`);
      return DEFAULTS[key];
    }
    return v as MonetLensConfig[K];
  };
  const languages = (): string[] => {
    const v = read("enabledLanguages");
    if (v === undefined || v === null) return [...DEFAULTS.enabledLanguages];
    if (!Array.isArray(v) || !v.every((x) => typeof x === "string" && x.trim() !== "")) {
      bad("enabledLanguages", v, 'a list of language ids (e.g. ["*", "!markdown"])');
      return [...DEFAULTS.enabledLanguages];
    }
    return v.map((x: string) => x.trim());
  };
  // Before auto, the setting was a boolean: true and false still mean on and off.
  const hugePages = (): HugePagesChoice => {
    const v = read("hugePages");
    if (v === true) return "on";
    if (v === false) return "off";
    return choice("hugePages", HUGE_PAGES_CHOICES);
  };
  const bool = (key: "enable"): boolean => {
    const v = read(key);
    if (v === undefined || v === null) return DEFAULTS[key];
    if (typeof v !== "boolean") {
      bad(key, v, "true or false");
      return DEFAULTS[key];
    }
    return v;
  };
  const config: MonetLensConfig = {
    enable: bool("enable"),
    modelPath: str("modelPath"),
    executionProvider: choice("executionProvider", EP_PREFERENCES),
    dtype: choice("dtype", PROTOCOL_DTYPES),
    threads: num("threads", 0, 256, true),
    hugePages: hugePages(),
    maxTokens: num("maxTokens", 1, 1024, true),
    temperature: num("temperature", 0, 2, false),
    topP: num("topP", 0.01, 1, false),
    debounceMs: num("debounceMs", 0, 5000, true),
    timeLimitMs: num("timeLimitMs", 50, 60000, true),
    contextTokens: num("contextTokens", 16, 32768, true),
    enabledLanguages: languages(),
    idleUnloadMinutes: num("idleUnloadMinutes", 0, 10080, false),
    atlasPath: str("atlasPath"),
  };
  return { config, problems };
}

/**
 * A path setting made safe to use: trimmed, `~` expanded, absolute (a relative path would
 * depend on the extension host's working folder), without NUL characters, and normalised
 * (`..` and repeated separators resolved). "" stays "" (the default).
 */
export function normaliseSettingPath(
  value: string,
): { path: string; problem?: undefined } | { path?: undefined; problem: string } {
  let v = value.trim();
  if (v === "") return { path: "" };
  if (v.includes("\0")) return { problem: "a path (it contains a NUL character)" };
  if (v === "~" || v.startsWith("~/") || v.startsWith("~\\")) v = join(homedir(), v.slice(1));
  if (!isAbsolute(v))
    return { problem: "an absolute path (e.g. /home/me/models/codemonet or ~/models/codemonet)" };
  return { path: resolve(v) };
}

/**
 * monetLens.modelPath: a Hugging Face repo id (`org/name` or `org/name@revision`, kept as
 * written and resolved from the local cache when the engine starts), else a folder as
 * normaliseSettingPath makes it.
 */
export function normaliseModelSetting(
  value: string,
): { path: string; problem?: undefined } | { path?: undefined; problem: string } {
  const v = value.trim();
  if (isRepoId(v)) return { path: v };
  const checked = normaliseSettingPath(v);
  return checked.problem === undefined
    ? checked
    : {
        problem: `${checked.problem.replace(/^an absolute path/, "an absolute folder path")} or a Hugging Face model id (e.g. MonetLLM/codemonet-vd-1.4B-100BT-hf)`,
      };
}

const isRepoId = (v: string): boolean =>
  !(v.startsWith("~") || v.startsWith(".") || isAbsolute(v) || v.includes("\\")) && isRepoRef(v);

type NumericKey = {
  [K in keyof MonetLensConfig]: MonetLensConfig[K] extends number ? K : never;
}[keyof MonetLensConfig];

/**
 * Whether automatic completion runs for a language: `monetLens.enable` for that language
 * (settable per language: `"[markdown]": {"monetLens.enable": false}`) and the language
 * list (`"*"` for all, `"!id"` to leave one out).
 */
export function languageEnabled(
  languageId: string,
  enabledLanguages: readonly string[],
  enableSetting: unknown,
): boolean {
  if (enableSetting === false) return false;
  if (enabledLanguages.includes(`!${languageId}`)) return false;
  return enabledLanguages.includes("*") || enabledLanguages.includes(languageId);
}

/** The settings whose change needs a new engine (another model, provider, precision, thread count or huge pages). */
export function engineSettingsChanged(a: MonetLensConfig, b: MonetLensConfig): boolean {
  return (
    a.modelPath !== b.modelPath ||
    a.executionProvider !== b.executionProvider ||
    a.dtype !== b.dtype ||
    a.threads !== b.threads ||
    a.hugePages !== b.hugePages
  );
}
