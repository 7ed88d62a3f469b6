// `monet-lens experts --language rust` (a class's strongest experts) and `monet-lens expert
// g0:359:356` (an expert's card: routing profile against the classes, top contexts from the
// atlas corpus or from the user's files), from the atlas's expert statistics.
import { Engine } from "../engine/engine";
import { EP_PREFERENCES } from "../engine/session";
import { noAtlasMessage, findAtlas, type ResolvedAtlas } from "../atlas/atlas-store";
import {
  type ContextSnippet,
  type CorpusContexts,
  contextsFromFiles,
  corpusContexts,
} from "../atlas/expert-contexts";
import { parseExpertId } from "../atlas/expert-id";
import {
  type ExpertProfile,
  expertProfile,
  openExpertStats,
  strongestExperts,
} from "../atlas/expert-profile";
import { checkpointIdentity } from "../atlas/checkpoint-identity";
import { choiceOption, intOption, parse, UsageError } from "./args";
import { progressLogger } from "./progress";

/** The atlas for the model (--atlas FILE, else the shipped one), without starting the model. */
async function atlasFor(values: { model?: string; atlas?: string }): Promise<ResolvedAtlas> {
  const identity = await checkpointIdentity(values.model);
  const resolved = findAtlas(identity, values.atlas);
  if (!resolved) throw new Error(noAtlasMessage(identity));
  return resolved;
}

const num = (x: number) => (x === 0 ? "0" : x >= 0.01 ? x.toFixed(4) : x.toExponential(2));

export async function expertsCommand(argv: string[]): Promise<void> {
  const { values } = parse(argv, {
    model: { type: "string" },
    atlas: { type: "string" },
    language: { type: "string" },
    top: { type: "string" },
    by: { type: "string" },
    json: { type: "boolean" },
  });
  if (!values.language) throw new UsageError("experts needs --language LANG (e.g. --language rust)");
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

export async function expertCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parse(argv, {
    model: { type: "string" },
    atlas: { type: "string" },
    corpus: { type: "string" },
    from: { type: "string", multiple: true },
    top: { type: "string" },
    "max-tokens": { type: "string" },
    json: { type: "boolean" },
    color: { type: "boolean" },
    "no-color": { type: "boolean" },
    ep: { type: "string" },
  });
  if (positionals.length !== 1)
    throw new UsageError("expert needs one expert id, e.g. monet-lens expert g0:359:356");
  const { atlas, path } = await atlasFor(values);
  const c = atlas.model.config;
  const x = parseExpertId(positionals[0]!, { groups: c.routingGroups, experts: c.moeExperts });
  const stats = openExpertStats(path, atlas);
  let profile: ExpertProfile;
  let corpus: CorpusContexts;
  try {
    profile = expertProfile(atlas, stats, x);
    corpus = corpusContexts(path, atlas, stats, x, { root: values.corpus });
  } finally {
    stats.close();
  }
  let own: Awaited<ReturnType<typeof contextsFromFiles>> | undefined;
  if (values.from?.length) {
    const top = intOption(values.top, "top", 5, 1);
    const maxTokens = intOption(values["max-tokens"], "max-tokens", 20_000, 16);
    const ep = choiceOption(values.ep, "ep", EP_PREFERENCES, "auto");
    const engine = await Engine.open({ modelDir: values.model, ep, ...progressLogger(!values.json) });
    try {
      own = await contextsFromFiles(engine, values.from, x, { top, maxTokens });
    } finally {
      await engine.close();
    }
  }
  if (values.json) {
    console.log(JSON.stringify({ atlas: path, ...profile, corpus, ...(own ? { fromFiles: own } : {}) }));
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
}

/** One context on one line: path:line, score, and the text with the token [bracketed] (or in reverse video on a TTY). */
export function formatSnippet(s: ContextSnippet, ansi: boolean): string {
  const flat = (t: string) => t.replace(/\t/g, "  ").replace(/\r?\n/g, "⏎");
  const token = ansi ? `\x1b[7m${flat(s.token)}\x1b[27m` : `[${flat(s.token)}]`;
  return `  ${s.path}:${s.line}  ${s.score.toFixed(3)}  ${flat(s.before)}${token}${flat(s.after)}`;
}
