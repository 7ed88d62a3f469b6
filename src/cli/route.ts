// `monet-lens route`: per token, its text and span, the share of its routing mass that
// goes to each atlas class's experts (per routing group and averaged), the share no class
// owns, each class's lift over its baseline, the dominant class and its strongest experts,
// and a summary of the whole text — the data the routing heatmap draws
// (src/atlas/route-shares.ts).
import { readFileSync } from "node:fs";
import { Engine } from "../engine/engine";
import { EP_PREFERENCES } from "../engine/session";
import { expertOwners, routeJson } from "../atlas/route-shares";
import { choiceOption, intOption, parse, UsageError } from "./args";
import { atlasForCli, languageMasks } from "./mask-option";
import { progressLogger } from "./progress";

export async function routeCommand(argv: string[]): Promise<void> {
  const { values } = parse(argv, {
    model: { type: "string" },
    atlas: { type: "string" },
    mask: { type: "string" },
    text: { type: "string" },
    file: { type: "string" },
    top: { type: "string" },
    json: { type: "boolean" },
    ep: { type: "string" },
  });
  if ((values.text === undefined) === (values.file === undefined))
    throw new UsageError("route needs --text STR or --file PATH");
  const text = values.text ?? readFileSync(values.file!, "utf8");
  const topK = intOption(values.top, "top", 3, 0);
  const ep = choiceOption(values.ep, "ep", EP_PREFERENCES, "auto");
  const engine = await Engine.open({ modelDir: values.model, ep, ...progressLogger(!values.json) });
  try {
    const mask = values.mask === undefined ? undefined : languageMasks(engine, values.mask, values.atlas);
    const resolved = mask?.atlas ?? atlasForCli(engine, values.atlas);
    const routed = await engine.route(text, mask?.masks);
    const json = routeJson({
      model: engine.modelDir,
      atlasPath: resolved?.path ?? null,
      text,
      routed,
      owners: resolved ? expertOwners(resolved.atlas) : undefined,
      masked: mask ? { languages: mask.languages, groups: mask.masks.groups } : undefined,
      topK,
    });
    if (values.json) {
      console.log(JSON.stringify(json));
      return;
    }
    if (!resolved)
      process.stderr.write(
        "no language atlas for this model: showing experts only (see monet-lens atlas build)\n",
      );
    const langs = json.languages;
    const ctrls = json.controls ?? [];
    const lift = json.baseline !== null && json.baseline !== undefined;
    console.log(
      lift
        ? "values: lift (share of the token's routing mass ÷ the class's baseline); 'none': the share no class owns, in %"
        : "values: share of the token's routing mass, in % (this atlas has no baselines; rebuild it for lift)",
    );
    console.log(
      `${"token".padEnd(18)} ${"dominant".padEnd(12)} ${[...langs, ...ctrls].map((l) => l.slice(0, 6).padStart(6)).join(" ")}   none  top expert (group head i j score)`,
    );
    const cells = (shares: number[], liftL: number[] | null | undefined) =>
      shares
        .map((s, l) => (lift && liftL ? liftL[l]!.toFixed(1) : (s * 100).toFixed(1)).padStart(6))
        .join(" ");
    for (const t of json.tokens) {
      const best = t.top.reduce<(typeof t.top)[number] | undefined>(
        (b, e) => (!b || e[4] > b[4] ? e : b),
        undefined,
      );
      const shown = JSON.stringify(t.text).slice(0, 18);
      const values = [cells(t.shares, t.lift), cells(t.controlShares ?? [], t.controlLift)]
        .filter(Boolean)
        .join(" ");
      console.log(
        `${shown.padEnd(18)} ${(t.dominant ?? "-").padEnd(12)} ${values} ${((t.unowned ?? 0) * 100).toFixed(1).padStart(6)}  ${best ? `${best[0]} ${best[1]} ${best[2]} ${best[3]} ${best[4].toFixed(3)}${best[5] ? ` (${best[5]})` : ""}` : ""}`,
      );
    }
    const sum = json.summary;
    if (sum && langs.length) {
      const fmt = (ids: string[], shares: number[], l: number[] | null) =>
        ids.map((id, k) => `${id} ${(100 * shares[k]!).toFixed(1)} %${l ? ` (×${l[k]!.toFixed(2)})` : ""}`);
      console.log(
        `selection (${sum.tokens} tokens): ${[...fmt(langs, sum.shares, sum.lift), ...fmt(ctrls, sum.controlShares, sum.controlLift)].join(", ")}; no class ${(100 * sum.unowned).toFixed(1)} %; dominant: ${sum.dominant ?? "none"}`,
      );
      if (json.dominance) console.log(json.dominance.text);
    }
    if (json.masked.length) console.log(`masked: ${json.masked.join(", ")}`);
  } finally {
    await engine.close();
  }
}
