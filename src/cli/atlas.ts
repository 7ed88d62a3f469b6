// `monet-lens atlas build` and `monet-lens atlas eval`: the language-expert atlas of a model
// from a corpus of source files, and its Table-3 evaluation on held-out files.
import { relative } from "node:path";
import { DTYPE_CHOICES, Engine } from "../engine/engine";
import { EP_PREFERENCES } from "../engine/providers";
import { writeAtlasFile } from "../atlas/atlas-file";
import { writeFileAtomic } from "../files/atomic-write";
import { noAtlasMessage } from "../atlas/atlas-store";
import { BUILD_DEFAULTS, buildAtlas } from "../atlas/build";
import { DEFAULT_SPLIT } from "../atlas/corpus";
import { deltaTable, EVAL_DEFAULTS, evaluateAtlas } from "../atlas/evaluate";
import { parseLanguageList } from "../atlas/masks";
import { matrixSvg } from "../atlas/matrix-svg";
import { modelIdentity } from "../atlas/model-identity";
import { markdownTable, passCount } from "../atlas/report";
import { choiceOption, intOption, numberOption, parse, UsageError } from "./args";
import { atlasForCli } from "./mask-option";
import { progressLogger } from "./progress";

export async function atlasCommand(argv: string[]): Promise<void> {
  const [sub, ...rest] = argv;
  if (sub === "build") return atlasBuild(rest);
  if (sub === "eval") return atlasEval(rest);
  throw new UsageError(
    sub ? `unknown atlas command "${sub}" (build or eval)` : "atlas needs a command: build or eval",
  );
}

async function atlasBuild(argv: string[]): Promise<void> {
  const { values } = parse(argv, {
    model: { type: "string" },
    corpus: { type: "string" },
    out: { type: "string" },
    ratio: { type: "string" },
    "min-tokens": { type: "string" },
    "max-tokens-per-language": { type: "string" },
    "segment-tokens": { type: "string" },
    "holdout-every": { type: "string" },
    languages: { type: "string" },
    ep: { type: "string" },
    dtype: { type: "string" },
    quiet: { type: "boolean" },
  });
  if (!values.corpus) throw new UsageError("atlas build needs --corpus DIR");
  if (!values.out) throw new UsageError("atlas build needs --out FILE");
  const ratio = numberOption(values.ratio, "ratio", BUILD_DEFAULTS.ratio, 1, 1e6);
  const minTokens = intOption(values["min-tokens"], "min-tokens", BUILD_DEFAULTS.minTokens, 1);
  const maxTokens = intOption(
    values["max-tokens-per-language"],
    "max-tokens-per-language",
    BUILD_DEFAULTS.maxTokensPerLanguage,
    16,
  );
  const segmentTokens = intOption(
    values["segment-tokens"],
    "segment-tokens",
    BUILD_DEFAULTS.segmentTokens,
    16,
  );
  const every = intOption(values["holdout-every"], "holdout-every", DEFAULT_SPLIT.every, 2);
  const languages = values.languages === undefined ? undefined : parseLanguageList(values.languages);
  const ep = choiceOption(values.ep, "ep", EP_PREFERENCES, "auto");
  const show = !values.quiet;
  const dtype = choiceOption(values.dtype, "dtype", DTYPE_CHOICES, "auto");
  const engine = await Engine.open({ modelDir: values.model, ep, dtype, ...progressLogger(show) });
  const cancel = cancelOnSigint();
  try {
    const started = Date.now();
    const bar = progressBar(show, "routing");
    const atlas = await buildAtlas(engine, {
      corpusDir: values.corpus,
      model: modelIdentity(engine),
      ratio,
      minTokens,
      maxTokensPerLanguage: maxTokens,
      segmentTokens,
      split: { ...DEFAULT_SPLIT, every, offset: every - 1 },
      languages,
      signal: cancel.signal,
      log: (l) => process.stderr.write(`${l}\n`),
      onProgress: (p) => bar(p.done, p.total, `${p.language}, ${p.done} of ${p.total} tokens`),
    }).catch(rethrowCancelled);
    bar.end();
    writeAtlasFile(values.out, atlas);
    const secs = (Date.now() - started) / 1000;
    const cells = atlas.model.config.moeExperts ** 2;
    console.log(
      `wrote ${values.out} in ${secs.toFixed(1)} s (${engine.ep}): ${atlas.languages.length} languages, ratio ${ratio}`,
    );
    for (const lang of atlas.languages) {
      const st = atlas.corpus.languages[lang]!;
      const per = atlas.sets
        .get(lang)!
        .map((s) => `${s.length} (${((100 * s.length) / cells).toFixed(1)} %)`);
      console.log(
        `  ${lang.padEnd(12)} ${String(st.tokens).padStart(7)} tokens from ${st.filesRead} files; experts per group: ${per.join(", ")}`,
      );
    }
    for (const [lang, why] of Object.entries(atlas.corpus.omitted))
      console.log(`  ${lang.padEnd(12)} left out: ${why}`);
  } finally {
    cancel.dispose();
    await engine.close();
  }
}

async function atlasEval(argv: string[]): Promise<void> {
  const { values } = parse(argv, {
    model: { type: "string" },
    atlas: { type: "string" },
    corpus: { type: "string" },
    "max-tokens-per-language": { type: "string" },
    languages: { type: "string" },
    mask: { type: "string" },
    svg: { type: "string" },
    json: { type: "boolean" },
    ep: { type: "string" },
    dtype: { type: "string" },
  });
  if (!values.corpus) throw new UsageError("atlas eval needs --corpus DIR");
  const maxTokens = intOption(
    values["max-tokens-per-language"],
    "max-tokens-per-language",
    EVAL_DEFAULTS.maxTokensPerLanguage,
    16,
  );
  const ep = choiceOption(values.ep, "ep", EP_PREFERENCES, "auto");
  const show = true;
  const dtype = choiceOption(values.dtype, "dtype", DTYPE_CHOICES, "auto");
  const engine = await Engine.open({ modelDir: values.model, ep, dtype, ...progressLogger(show) });
  const cancel = cancelOnSigint();
  try {
    const resolved = atlasForCli(engine, values.atlas);
    if (!resolved) throw new Error(noAtlasMessage(modelIdentity(engine)));
    process.stderr.write(`atlas: ${resolved.path}\n`);
    const started = Date.now();
    const bar = progressBar(show, "evaluating");
    const result = await evaluateAtlas(engine, {
      corpusDir: values.corpus,
      atlas: resolved.atlas,
      languages: values.languages === undefined ? undefined : parseLanguageList(values.languages),
      masks: values.mask === undefined ? undefined : parseLanguageList(values.mask),
      maxTokensPerLanguage: maxTokens,
      signal: cancel.signal,
      log: (l) => process.stderr.write(`${l}\n`),
      onProgress: (p) => bar(p.done, p.total, `${p.what} (${p.done}/${p.total} passes)`),
    }).catch(rethrowCancelled);
    bar.end();
    const secs = (Date.now() - started) / 1000;
    const table = deltaTable(result);
    if (values.svg) {
      writeFileAtomic(values.svg, matrixSvg(table));
      process.stderr.write(`wrote ${values.svg}\n`);
    }
    const { passed, failed } = passCount(table);
    if (values.json) {
      console.log(JSON.stringify({ none: result.none, masked: result.masked, passed, failed }));
      return;
    }
    console.log(
      `Cross-entropy increase (nats/token) on held-out files of ${relative(process.cwd(), values.corpus) || "."}, atlas ${resolved.path}`,
    );
    console.log(`rows: evaluated language, columns: masked language; ${secs.toFixed(1)} s on ${engine.ep}\n`);
    console.log(markdownTable(table, result));
    console.log(
      `\nmasking a language raises its own loss clearly more than any other's for ${passed.length} of ${table.cols.length} languages${failed.length ? ` (not: ${failed.join(", ")})` : ""}`,
    );
  } finally {
    cancel.dispose();
    await engine.close();
  }
}

/** SIGINT aborts the work between forward passes; a second SIGINT exits at once. */
export function cancelOnSigint(): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const onInt = () => {
    if (controller.signal.aborted) process.exit(130);
    process.stderr.write("\ncancelling after the current forward pass (Ctrl-C again to quit now)\n");
    controller.abort();
  };
  process.on("SIGINT", onInt);
  return { signal: controller.signal, dispose: () => process.off("SIGINT", onInt) };
}

export function rethrowCancelled(e: unknown): never {
  if (e instanceof Error && e.name === "AbortError") throw new Error("cancelled; nothing was written");
  throw e;
}

/** A one-line progress display on stderr with the rate and the time left. */
export function progressBar(
  enabled: boolean,
  what: string,
): ((done: number, total: number, detail: string) => void) & { end: () => void } {
  const start = Date.now();
  let lastDraw = 0;
  let drawn = false;
  const fn = (done: number, total: number, detail: string) => {
    const now = Date.now();
    if (!enabled || (now - lastDraw < 250 && done < total)) return;
    lastDraw = now;
    drawn = true;
    const el = (now - start) / 1000;
    const eta = done > 0 ? (el * (total - done)) / done : NaN;
    const pct = Math.floor((100 * done) / Math.max(total, 1));
    process.stderr.write(
      `\r\x1b[K${what}: ${pct}% ${detail}, ${el.toFixed(0)} s${Number.isFinite(eta) ? `, about ${eta.toFixed(0)} s left` : ""}`,
    );
  };
  return Object.assign(fn, {
    end: () => {
      if (drawn) process.stderr.write("\n");
    },
  });
}
