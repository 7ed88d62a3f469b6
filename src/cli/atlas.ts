// `monet-lens atlas build`, `atlas eval`, `atlas dominance` and `atlas compare`: the
// language-expert atlas of a model from a corpus of source files, its Table-3 evaluation on
// held-out files, the dominance rule's test, and the difference between two atlases.
import { relative } from "node:path";
import { type Atlas, atlasClasses, classSets, readAtlasFile, writeAtlasFile } from "../atlas/atlas-file";
import { meanBaseline } from "../atlas/baselines";
import { BUILD_DEFAULTS, buildAtlas } from "../atlas/build";
import { compareAtlases, movesTable } from "../atlas/compare";
import { DEFAULT_SPLIT } from "../atlas/corpus";
import { DOMINANCE } from "../atlas/dominance";
import { collectDominanceSamples, dominanceTables, rates, scoreRule } from "../atlas/dominance-eval";
import { atlasQuality, qualityLines } from "../atlas/quality";
import { deltaTable, EVAL_DEFAULTS, evaluateAtlas } from "../atlas/evaluate";
import {
  combineLanguageSelections,
  parseLanguageList,
  parseLanguageScales,
} from "../atlas/steering-selection";
import { parseSweepScales, steerSweep, sweepTable } from "../atlas/steer-sweep";
import { sweepSvg } from "../atlas/sweep-svg";
import { matrixSvg } from "../atlas/matrix-svg";
import { markdownTable, passCount } from "../atlas/report";
import { CancelledError } from "../engine/errors";
import { writeFileAtomic } from "../files/atomic-write";
import { writeTarget } from "../files/folders";
import { intOption, numberOption, UsageError } from "./args";
import { command } from "./command";
import { ENGINE_OPTIONS, withEngine } from "./engine-options";
import { ATLAS_OPTION, requireAtlasForCli } from "./selection-options";

export const atlasBuildCommand = command({
  name: "atlas build",
  summary: "label the experts specialised in each language of a corpus (the paper's rule)",
  options: {
    corpus: { type: "string", value: "DIR", help: "a folder of source files", required: true },
    out: { type: "string", value: "FILE", help: "the atlas file to write", required: true },
    ratio: {
      type: "string",
      value: "R",
      help:
        `an expert is a language's when its score is R times the next language's ` +
        `(default ${BUILD_DEFAULTS.ratio})`,
    },
    "min-tokens": {
      type: "string",
      value: "N",
      help: `leave out languages with fewer training tokens (default ${BUILD_DEFAULTS.minTokens})`,
    },
    "max-tokens-per-language": {
      type: "string",
      value: "N",
      help: `tokens read per language at most (default ${BUILD_DEFAULTS.maxTokensPerLanguage})`,
    },
    "segment-tokens": {
      type: "string",
      value: "N",
      help: `tokens per forward pass (default ${BUILD_DEFAULTS.segmentTokens})`,
    },
    "holdout-every": {
      type: "string",
      value: "K",
      help: `hold out every K-th file (default ${DEFAULT_SPLIT.every}): atlas eval reads those`,
    },
    languages: { type: "string", value: "LANG,...", help: "only these languages (default: all)" },
    controls: {
      type: "string",
      value: "CLASS,...|none",
      help:
        "control classes: labelled like languages, never offered for masking " +
        "(default: plaintext when the corpus has it)",
    },
    contexts: {
      type: "string",
      value: "K",
      help:
        `top contexts kept per expert in the expert statistics beside the atlas ` +
        `(default ${BUILD_DEFAULTS.contextsPerExpert}; 0: no statistics)`,
    },
    strict: { type: "boolean", help: "write nothing when the atlas would be of low quality" },
    ...ENGINE_OPTIONS,
    quiet: { type: "boolean", help: "no progress on stderr" },
  },
  async run(values) {
    const corpus = values.corpus!;
    const outFile = values.out!;
    writeTarget(outFile); // a device, FIFO or folder is refused before the build, not after
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
    const controls =
      values.controls === undefined
        ? undefined
        : values.controls === "" || values.controls === "none"
          ? []
          : parseLanguageList(values.controls);
    const contexts = intOption(values.contexts, "contexts", BUILD_DEFAULTS.contextsPerExpert, 0);
    const show = !values.quiet;
    await withEngine(values, { quiet: !show }, async (engine) => {
      const cancel = cancelOnSigint();
      try {
        const started = Date.now();
        const bar = progressBar(show, "routing");
        const atlas = await buildAtlas(engine, {
          corpusDir: corpus,
          model: engine.identity,
          ratio,
          minTokens,
          maxTokensPerLanguage: maxTokens,
          segmentTokens,
          split: { ...DEFAULT_SPLIT, every, offset: every - 1 },
          languages,
          controls,
          contextsPerExpert: contexts,
          signal: cancel.signal,
          log: (l) => process.stderr.write(`${l}\n`),
          onProgress: (p) => bar(p.done, p.total, `${p.language}, ${p.done} of ${p.total} tokens`),
        }).catch(rethrowCancelled);
        bar.end();
        const quality = atlasQuality(atlas);
        const warnings = qualityLines(quality).filter(
          (l) => !l.startsWith("left out") && !l.startsWith("no control"),
        );
        if (quality.level === "low" && values.strict)
          throw new Error(
            `the atlas would be of low quality, so nothing was written (--strict):\n  ${warnings.join("\n  ")}`,
          );
        writeAtlasFile(outFile, atlas);
        const secs = (Date.now() - started) / 1000;
        const stats = atlas.stats
          ? ` and ${atlas.stats.file} (${(atlas.stats.bytes / 1e6).toFixed(1)} MB of expert statistics)`
          : "";
        const controlNote = atlas.controls.length ? ` and control class ${atlas.controls.join(", ")}` : "";
        console.log(
          `wrote ${outFile}${stats} in ${secs.toFixed(1)} s (${engine.ep}): ` +
            `${atlas.languages.length} languages${controlNote}, ratio ${ratio}`,
        );
        for (const line of classLines(atlas)) console.log(line);
        if (quality.level === "low")
          process.stderr.write(
            `warning: LOW QUALITY atlas (labels unreliable):\n  ${warnings.join("\n  ")}\n`,
          );
      } finally {
        cancel.dispose();
      }
    });
  },
});

export const atlasEvalCommand = command({
  name: "atlas eval",
  summary: "loss per language on held-out files, with each language's experts masked (or scaled)",
  options: {
    ...ATLAS_OPTION,
    corpus: { type: "string", value: "DIR", help: "the corpus the atlas was built from", required: true },
    "max-tokens-per-language": {
      type: "string",
      value: "N",
      help: `held-out tokens read per language (default ${EVAL_DEFAULTS.maxTokensPerLanguage})`,
    },
    languages: {
      type: "string",
      value: "LANG,...",
      help: "evaluated languages, the rows (default: the atlas's found in the corpus)",
    },
    mask: {
      type: "string",
      value: "LANG,...",
      help: "masked languages, the columns (default: the atlas's)",
    },
    steer: {
      type: "string",
      value: "LANG=S,...",
      help: "columns with these languages' experts scaled instead of masked (with --mask: those at 0 too)",
    },
    "steer-sweep": {
      type: "string",
      value: "S,...",
      help:
        "instead of the matrix: each evaluated language's loss with its own experts at each scale " +
        "(e.g. 0,0.5,1,1.5,2), a curve per language",
    },
    svg: {
      type: "string",
      value: "FILE",
      help: "also draw the matrix (or the sweep's curves) into an SVG file",
    },
    json: {
      type: "boolean",
      help:
        'print {"none": ..., "masked": ..., "scales": ..., "passed": [...], "failed": [...]} ' +
        "(or the sweep) instead of the table",
    },
    ...ENGINE_OPTIONS,
  },
  async run(values) {
    const corpus = values.corpus!;
    const maxTokens = intOption(
      values["max-tokens-per-language"],
      "max-tokens-per-language",
      EVAL_DEFAULTS.maxTokensPerLanguage,
      16,
    );
    const show = true;
    await withEngine(values, { quiet: !show }, async (engine) => {
      const cancel = cancelOnSigint();
      try {
        const resolved = requireAtlasForCli(engine, values.atlas);
        const started = Date.now();
        const bar = progressBar(show, "evaluating");
        const languages = values.languages === undefined ? undefined : parseLanguageList(values.languages);
        if (values["steer-sweep"] !== undefined) {
          if (values.mask !== undefined || values.steer !== undefined)
            throw new UsageError(
              "--steer-sweep sweeps each language's own experts; leave out --mask and --steer",
            );
          const sweep = await steerSweep(engine, {
            corpusDir: corpus,
            atlas: resolved.atlas,
            languages,
            scales: parseSweepScales(values["steer-sweep"]),
            maxTokensPerLanguage: maxTokens,
            signal: cancel.signal,
            log: (l) => process.stderr.write(`${l}\n`),
            onProgress: (p) => bar(p.done, p.total, `${p.what} (${p.done}/${p.total} passes)`),
          }).catch(rethrowCancelled);
          bar.end();
          if (values.svg) {
            writeFileAtomic(values.svg, sweepSvg(sweep));
            process.stderr.write(`wrote ${values.svg}\n`);
          }
          if (values.json) {
            console.log(JSON.stringify({ atlas: resolved.path, model: engine.identity.name, ...sweep }));
            return;
          }
          const secs = (Date.now() - started) / 1000;
          console.log(
            `Cross-entropy change (nats/token) on held-out files of ${relative(process.cwd(), corpus) || "."} ` +
              `as each language's own experts are scaled; atlas ${resolved.path}; ${secs.toFixed(1)} s on ${engine.ep}\n`,
          );
          console.log(sweepTable(sweep));
          return;
        }
        const columns =
          values.mask === undefined && values.steer === undefined
            ? undefined
            : combineLanguageSelections(
                values.mask === undefined ? [] : parseLanguageList(values.mask),
                values.steer === undefined ? {} : parseLanguageScales(values.steer),
              ).languages;
        const result = await evaluateAtlas(engine, {
          corpusDir: corpus,
          atlas: resolved.atlas,
          languages,
          scales: columns,
          maxTokensPerLanguage: maxTokens,
          signal: cancel.signal,
          log: (l) => process.stderr.write(`${l}\n`),
          onProgress: (p) => bar(p.done, p.total, `${p.what} (${p.done}/${p.total} passes)`),
        }).catch(rethrowCancelled);
        bar.end();
        const secs = (Date.now() - started) / 1000;
        const table = deltaTable(result);
        if (values.svg) {
          const steered = Object.values(result.scales).some((x) => x !== 0);
          writeFileAtomic(
            values.svg,
            steered
              ? matrixSvg(
                  table,
                  "Cross-entropy change when a language's experts are masked or scaled (nats/token)",
                )
              : matrixSvg(table),
          );
          process.stderr.write(`wrote ${values.svg}\n`);
        }
        const { passed, failed } = passCount(table);
        if (values.json) {
          console.log(
            JSON.stringify({
              none: result.none,
              masked: result.masked,
              scales: result.scales,
              passed,
              failed,
            }),
          );
          return;
        }
        const where = relative(process.cwd(), corpus) || ".";
        console.log(
          `Cross-entropy increase (nats/token) on held-out files of ${where}, atlas ${resolved.path}`,
        );
        const scaled = Object.entries(result.scales).filter(([, x]) => x !== 0);
        console.log(
          `rows: evaluated language, columns: ${scaled.length ? "steered" : "masked"} language` +
            `${scaled.length ? ` (scaled: ${scaled.map(([l, x]) => `${l}×${x}`).join(", ")}; others masked)` : ""}` +
            `; ${secs.toFixed(1)} s on ${engine.ep}\n`,
        );
        console.log(markdownTable(table, result));
        console.log(
          `\nmasking a language raises its own loss clearly more than any other's for ${passed.length} ` +
            `of ${table.cols.length} languages${failed.length ? ` (not: ${failed.join(", ")})` : ""}`,
        );
      } finally {
        cancel.dispose();
      }
    });
  },
});

/** One line per class: tokens, files, experts per group, baseline, quality notes; then the left-out classes. */
export function classLines(atlas: Atlas): string[] {
  const cells = atlas.model.config.moeExperts ** 2;
  const quality = atlasQuality(atlas);
  const lines = atlasClasses(atlas).map((cls) => {
    const st = atlas.corpus.languages[cls]!;
    const per = classSets(atlas, cls)!.map((s) => `${s.length} (${((100 * s.length) / cells).toFixed(1)} %)`);
    const b = atlas.baselines?.get(cls);
    const base = b ? `; baseline ${(100 * meanBaseline(b)).toFixed(2)} %` : "";
    const kind = atlas.controls.includes(cls) ? " [control]" : "";
    const notes = quality.classes[cls]?.notes ?? [];
    const files = `${st.filesRead} file${st.filesRead === 1 ? "" : "s"}`;
    return (
      `  ${(cls + kind).padEnd(22)} ${String(st.tokens).padStart(7)} tokens from ${files}; ` +
      `experts per group: ${per.join(", ")}${base}${notes.length ? ` — ${notes.join("; ")}` : ""}`
    );
  });
  for (const [lang, why] of Object.entries(atlas.corpus.omitted))
    lines.push(`  ${lang.padEnd(22)} left out: ${why}`);
  return lines;
}

export const atlasCompareCommand = command({
  name: "atlas compare",
  summary: "where each class's experts went from atlas A to atlas B",
  positional: { name: "A.atlas.json B.atlas.json", help: "the two atlases (of the same model)", count: 2 },
  options: {},
  async run(_values, _a, files) {
    console.log(movesTable(compareAtlases(readAtlasFile(files![0]!), readAtlasFile(files![1]!))));
  },
});

export const atlasDominanceCommand = command({
  name: "atlas dominance",
  summary: 'how often "dominant" names the right language on held-out files (the dominance rule\'s test)',
  options: {
    ...ATLAS_OPTION,
    corpus: { type: "string", value: "DIR", help: "the corpus the atlas was built from", required: true },
    "tokens-per-file": { type: "string", value: "N", help: "tokens read per held-out file (default 512)" },
    "files-per-class": {
      type: "string",
      value: "N",
      help: "held-out files per class at most (default: all)",
    },
    window: { type: "string", value: "N", help: "tokens per window for the window rates (default 64)" },
    json: { type: "boolean", help: "print the rule and its rates as JSON" },
    ...ENGINE_OPTIONS,
  },
  async run(values) {
    const corpus = values.corpus!;
    const tokensPerFile = intOption(values["tokens-per-file"], "tokens-per-file", 512, 32);
    const filesPerClass =
      values["files-per-class"] === undefined
        ? undefined
        : intOption(values["files-per-class"], "files-per-class", 0, 1);
    const windowTokens = intOption(values.window, "window", 64, 4);
    await withEngine(values, {}, async (engine) => {
      const cancel = cancelOnSigint();
      try {
        const resolved = requireAtlasForCli(engine, values.atlas);
        const started = Date.now();
        const bar = progressBar(true, "routing held-out files");
        const samples = await collectDominanceSamples(engine, {
          corpusDir: corpus,
          atlas: resolved.atlas,
          tokensPerFile,
          maxFilesPerClass: filesPerClass,
          signal: cancel.signal,
          onProgress: (p) => bar(p.done, p.total, p.what),
        }).catch(rethrowCancelled);
        bar.end();
        const controls = resolved.atlas.controls;
        const chosen = scoreRule(samples, DOMINANCE.token, DOMINANCE.selection, { windowTokens, controls });
        if (values.json) {
          console.log(JSON.stringify({ rule: DOMINANCE, chosen }));
          return;
        }
        const secs = ((Date.now() - started) / 1000).toFixed(1);
        console.log(
          `Dominance on held-out text of ${corpus} (${samples.files.length} files, ` +
            `${samples.mixed.length} mixed texts, up to ${tokensPerFile} tokens each), ` +
            `atlas ${resolved.path}; ${secs} s\n`,
        );
        console.log(dominanceTables(samples, controls, windowTokens));
        const r = (o: Parameters<typeof rates>[0]) => {
          const x = rates(o);
          return `${x.right} % right, ${x.wrong} % wrong, ${x.none} % none (n ${x.n})`;
        };
        console.log(`\nThe rule in use: ${DOMINANCE.text}`);
        console.log(`  code tokens: ${r(chosen.codeTokens)}\n  prose tokens: ${r(chosen.proseTokens)}`);
        console.log(`  code windows: ${r(chosen.codeWindows)}\n  prose windows: ${r(chosen.proseWindows)}`);
        console.log(`  code files: ${r(chosen.codeFiles)}\n  prose files: ${r(chosen.proseFiles)}`);
        console.log(`  mixed texts (right: one of the two): ${r(chosen.mixed)}`);
        const perClass = Object.entries(chosen.perClassFiles)
          .map(([c, o]) => `${c} ${o.right}/${o.wrong}/${o.none}`)
          .join(", ");
        console.log(`  files per class: ${perClass}`);
      } finally {
        cancel.dispose();
      }
    });
  },
});

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
  if (e instanceof CancelledError) throw new Error("cancelled; nothing was written");
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
      `\r\x1b[K${what}: ${pct}% ${detail}, ${el.toFixed(0)} s` +
        (Number.isFinite(eta) ? `, about ${eta.toFixed(0)} s left` : ""),
    );
  };
  return Object.assign(fn, {
    end: () => {
      if (drawn) process.stderr.write("\n");
    },
  });
}
