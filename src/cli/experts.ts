// `monet-lens experts --language rust` (a class's strongest experts) and `monet-lens expert
// g0:359:356` (an expert's card: routing profile against the classes, top contexts from the
// atlas corpus or from the user's files), from the atlas's expert statistics.
import { noAtlasMessage, findAtlas, type ResolvedAtlas } from "../atlas/atlas-store";
import {
  type ContextSnippet,
  type CorpusContexts,
  contextsFromFiles,
  corpusContexts,
} from "../atlas/expert-contexts";
import { type EffectModel, type ExpertEffect, effectAt } from "../atlas/expert-effect";
import { parseExpertId } from "../atlas/expert-id";
import {
  type ExpertProfile,
  expertProfile,
  openExpertStats,
  strongestExperts,
} from "../atlas/expert-profile";
import type { Engine } from "../engine/engine";
import { checkpointIdentity } from "../engine/model-identity";
import { readRegularText, TEXT_FILE_READ } from "../files/regular-file";
import { choiceOption, intOption, numberOption, UsageError } from "./args";
import { command } from "./command";
import { ENGINE_OPTIONS, MODEL_OPTION, modelDirOption, withEngine } from "./engine-options";
import { ATLAS_OPTION } from "./selection-options";

/** The atlas for the model (--atlas FILE, else the shipped one), without starting the model. */
async function atlasFor(values: { model?: string; atlas?: string }): Promise<ResolvedAtlas> {
  const identity = await checkpointIdentity(modelDirOption(values.model));
  const resolved = findAtlas(identity, values.atlas);
  if (!resolved) throw new Error(noAtlasMessage(identity));
  return resolved;
}

const num = (x: number) => (x === 0 ? "0" : x >= 0.01 ? x.toFixed(4) : x.toExponential(2));

export const expertsCommand = command({
  name: "experts",
  summary: "a language's strongest experts, from the atlas's expert statistics",
  options: {
    language: {
      type: "string",
      value: "LANG",
      help: "the language (or control class) whose experts to rank",
      required: true,
    },
    top: { type: "string", value: "N", help: "how many experts (default 20)" },
    by: {
      type: "string",
      value: "score|lift",
      help: "rank by mean score on the language's tokens (default) or by lift over the pooled mean",
    },
    ...MODEL_OPTION,
    ...ATLAS_OPTION,
    json: { type: "boolean", help: "print JSON" },
  },
  notes: "Reads the atlas and its statistics only: the model is not converted or run.",
  async run(values) {
    await expertsRun({ ...values, language: values.language! });
  },
});

async function expertsRun(values: {
  language: string;
  top?: string;
  by?: string;
  model?: string;
  atlas?: string;
  json?: boolean;
}): Promise<void> {
  const top = intOption(values.top, "top", 20, 1);
  const by = choiceOption(values.by, "by", ["score", "lift"] as const, "score");
  const { atlas, path } = await atlasFor(values);
  const stats = openExpertStats(path, atlas);
  try {
    const ranked = strongestExperts(atlas, stats, values.language, { top, by });
    if (values.json) {
      console.log(JSON.stringify({ atlas: path, language: values.language, by, experts: ranked }));
      return;
    }
    console.log(
      `${values.language}'s strongest experts by ${by === "score" ? "mean score on its tokens" : "lift (mean score on its tokens ÷ mean score on all the atlas corpus's tokens)"}, among the experts the atlas gives it (atlas ${path}):`,
    );
    console.log(
      `${"expert".padEnd(14)} ${"mean".padStart(9)} ${"pooled".padStart(9)} ${"lift".padStart(6)}  next class (×)`,
    );
    for (const r of ranked)
      console.log(
        `${r.expert.padEnd(14)} ${num(r.mean).padStart(9)} ${num(r.pooledMean).padStart(9)} ${r.lift.toFixed(2).padStart(6)}  ${r.next ? `${r.next.id} (${Number.isFinite(r.ratio) ? r.ratio.toFixed(1) : "∞"}×)` : "-"}`,
      );
  } finally {
    stats.close();
  }
}

export const expertCommand = command({
  name: "expert",
  summary: "an expert's card: its routing profile over the atlas classes and its top contexts",
  positional: {
    name: "gG:I:J",
    help: "the expert: routing group G, half-experts I and J (e.g. g0:359:356)",
    count: 1,
  },
  options: {
    ...ATLAS_OPTION,
    corpus: {
      type: "string",
      value: "DIR",
      help: "where the atlas corpus is (default: the folder the atlas records)",
    },
    from: {
      type: "string",
      value: "FILE|DIR",
      help: "also rank the expert's tokens in these files (runs the model; may be repeated)",
      multiple: true,
    },
    top: { type: "string", value: "N", help: "contexts from --from files (default 5)" },
    prompt: {
      type: "string",
      value: "STR",
      help: "the expert's effect here: the next-token distribution after STR with and without it (runs the model)",
    },
    "prompt-file": { type: "string", value: "FILE", help: "the same with the text of FILE as the prompt" },
    scale: {
      type: "string",
      value: "S",
      help: "for the effect: the expert's routing score is multiplied by S (default 0: switched off; 1 changes nothing)",
    },
    "effect-tokens": {
      type: "string",
      value: "N",
      help: "tokens of greedy continuation with and without the change (default 16; 0: none)",
    },
    "max-tokens": { type: "string", value: "N", help: "tokens read from --from files (default 20000)" },
    color: { type: "boolean", help: "highlight the token in reverse video (default: on a terminal)" },
    "no-color": { type: "boolean", help: "bracket the token instead" },
    json: { type: "boolean", help: "print JSON" },
    ...ENGINE_OPTIONS,
  },
  async run(values, id) {
    await expertRun(values, id!);
  },
});

async function expertRun(values: Parameters<typeof expertCommand.run>[0], id: string): Promise<void> {
  const { atlas, path } = await atlasFor(values);
  const c = atlas.model.config;
  const x = parseExpertId(id, { groups: c.routingGroups, experts: c.moeExperts });
  const stats = openExpertStats(path, atlas);
  let profile: ExpertProfile;
  let corpus: CorpusContexts;
  try {
    profile = expertProfile(atlas, stats, x);
    corpus = corpusContexts(path, atlas, stats, x, { root: values.corpus });
  } finally {
    stats.close();
  }
  if (values.prompt !== undefined && values["prompt-file"] !== undefined)
    throw new UsageError("give --prompt STR or --prompt-file FILE, not both");
  const prompt =
    values["prompt-file"] !== undefined
      ? readRegularText(values["prompt-file"], TEXT_FILE_READ)
      : values.prompt;
  if (prompt !== undefined && prompt === "") throw new UsageError("the prompt is empty");
  const scale = numberOption(values.scale, "scale", 0, 0, 1000);
  if (values.scale !== undefined && prompt === undefined)
    throw new UsageError("--scale applies to the effect: give --prompt STR or --prompt-file FILE");
  const effectTokens = intOption(values["effect-tokens"], "effect-tokens", 16, 0);
  let own: Awaited<ReturnType<typeof contextsFromFiles>> | undefined;
  let effect: ExpertEffect | undefined;
  if (values.from?.length || prompt !== undefined) {
    const top = intOption(values.top, "top", 5, 1);
    const maxTokens = intOption(values["max-tokens"], "max-tokens", 20_000, 16);
    const from = values.from;
    await withEngine(values, { quiet: values.json }, async (engine) => {
      if (from?.length) own = await contextsFromFiles(engine, from, x, { top, maxTokens });
      if (prompt !== undefined)
        effect = await effectAt(engineEffectModel(engine), prompt, x, {
          scale,
          continuationTokens: effectTokens,
        });
    });
  }
  if (values.json) {
    console.log(
      JSON.stringify({
        atlas: path,
        ...profile,
        corpus,
        ...(own ? { fromFiles: own } : {}),
        ...(effect ? { effect } : {}),
      }),
    );
    return;
  }
  const ansi =
    values.color || (!values["no-color"] && process.stdout.isTTY === true && !process.env.NO_COLOR);
  console.log(
    `expert ${profile.expert} (routing group ${x.group}, half-experts i ${x.i}, j ${x.j}) — ${profile.owner ? `labelled ${profile.owner.id}${profile.owner.kind === "control" ? " (control class)" : ""}` : "labelled by no class"}; atlas ${path}`,
  );
  console.log(
    `mean score over the atlas corpus: ${num(profile.pooledMean)} per token (${(100 * profile.pooledShare).toFixed(4)} % of a token's routing mass)\n`,
  );
  console.log(`${"class".padEnd(14)} ${"mean score".padStart(11)} ${"× pooled".padStart(9)}`);
  const max = Math.max(...profile.classes.map((k) => k.lift), 1e-9);
  for (const k of profile.classes)
    console.log(
      `${(k.id + (k.kind === "control" ? "*" : "")).padEnd(14)} ${num(k.mean).padStart(11)} ${k.lift.toFixed(2).padStart(9)} ${"█".repeat(Math.round((20 * k.lift) / max))}`,
    );
  if (profile.classes.some((k) => k.kind === "control")) console.log("* control class");
  console.log(`\ntop contexts in the atlas corpus (${corpus.root}):`);
  for (const s of corpus.contexts) console.log(formatSnippet(s, ansi));
  for (const m of corpus.missing) console.log(`  (${m})`);
  if (own) {
    console.log(`\ntop contexts in ${values.from!.join(", ")} (${own.tokens} tokens of ${own.files} files):`);
    for (const s of own.contexts) console.log(formatSnippet(s, ansi));
    if (own.contexts.length === 0) console.log("  (the expert does not fire there)");
  } else if (corpus.contexts.length === 0)
    console.log("  rank the expert's tokens in your own files with --from FILE|DIR");
  if (effect) for (const line of formatEffect(effect)) console.log(line);
}

/** The engine as the effect's model: exact next-token logits and greedy continuations under a Steering. */
export function engineEffectModel(engine: Engine): EffectModel {
  return {
    shape: { groups: engine.routingGroups, experts: engine.config.moeExperts },
    nextLogits: (prompt, steering) => engine.nextLogits(prompt, steering),
    greedy: async (prompt, steering, maxTokens) =>
      (await engine.generate(prompt, { maxTokens, temperature: 0, steering })).text,
    piece: (id) => engine.tokenizer.idToPiece(id),
  };
}

const prob = (p: number) => `${(100 * p).toFixed(p < 0.001 ? 4 : 2)} %`;
const signed = (d: number) =>
  `${d >= 0 ? "+" : "−"}${(100 * Math.abs(d)).toFixed(Math.abs(d) < 0.001 ? 4 : 2)} pts`;

/** The "effect here" section of the card, as lines. */
export function formatEffect(e: ExpertEffect): string[] {
  const what = e.scale === 0 ? "switched off" : `scaled by ${e.scale}`;
  const lines = [
    `\neffect at the end of the prompt, with ${e.expert} alone ${what} (exact: two forward passes):`,
    `  KL(before ‖ after) = ${e.kl.toExponential(3)} nats; most likely next token ${JSON.stringify(e.top1.before.piece)} ${prob(e.top1.before.before)} → ${JSON.stringify(e.top1.after.piece)} ${prob(e.top1.after.after)}`,
  ];
  if (e.up.length === 0 && e.down.length === 0)
    lines.push("  no token's probability moves: the expert does not take part here");
  for (const [title, list] of [
    ["up", e.up],
    ["down", e.down],
  ] as const) {
    if (list.length === 0) continue;
    lines.push(`  ${title}:`);
    for (const t of list)
      lines.push(
        `    ${JSON.stringify(t.piece).padEnd(16)} ${prob(t.before).padStart(10)} → ${prob(t.after).padStart(10)}  ${signed(t.delta)}`,
      );
  }
  if (e.continuation) {
    const flat = (t: string) => JSON.stringify(t);
    lines.push(`  greedy continuation without: ${flat(e.continuation.before)}`);
    lines.push(`  greedy continuation with:    ${flat(e.continuation.after)}`);
  }
  return lines;
}

/** One context on one line: path:line, score, and the text with the token [bracketed] (or in reverse video on a TTY). */
export function formatSnippet(s: ContextSnippet, ansi: boolean): string {
  const flat = (t: string) => t.replace(/\t/g, "  ").replace(/\r?\n/g, "⏎");
  const token = ansi ? `\x1b[7m${flat(s.token)}\x1b[27m` : `[${flat(s.token)}]`;
  return `  ${s.path}:${s.line}  ${s.score.toFixed(3)}  ${flat(s.before)}${token}${flat(s.after)}`;
}
