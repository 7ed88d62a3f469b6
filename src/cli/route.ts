// `monet-lens route`: per token, its text and span, the share of its routing mass that
// goes to each language's experts (per routing group and averaged) and its strongest
// experts — the data the routing heatmap draws (src/atlas/route-shares.ts).
import { readFileSync } from "node:fs";
import { DTYPE_CHOICES, Engine } from "../engine/engine";
import { EP_PREFERENCES } from "../engine/providers";
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
    dtype: { type: "string" },
  });
  if ((values.text === undefined) === (values.file === undefined))
    throw new UsageError("route needs --text STR or --file PATH");
  const text = values.text ?? readFileSync(values.file!, "utf8");
  const topK = intOption(values.top, "top", 3, 0);
  const ep = choiceOption(values.ep, "ep", EP_PREFERENCES, "auto");
  const dtype = choiceOption(values.dtype, "dtype", DTYPE_CHOICES, "auto");
  const engine = await Engine.open({ modelDir: values.model, ep, dtype, ...progressLogger(!values.json) });
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
    console.log(
      `${"token".padEnd(18)} ${"dominant".padEnd(12)} ${langs.map((l) => l.slice(0, 6).padStart(6)).join(" ")}  top expert (group head i j score)`,
    );
    for (const t of json.tokens) {
      const best = t.top.reduce<(typeof t.top)[number] | undefined>(
        (b, e) => (!b || e[4] > b[4] ? e : b),
        undefined,
      );
      const shown = JSON.stringify(t.text).slice(0, 18);
      console.log(
        `${shown.padEnd(18)} ${(t.dominant ?? "-").padEnd(12)} ${t.shares.map((s) => (s * 100).toFixed(1).padStart(6)).join(" ")}  ${best ? `${best[0]} ${best[1]} ${best[2]} ${best[3]} ${best[4].toFixed(3)}${best[5] ? ` (${best[5]})` : ""}` : ""}`,
      );
    }
    if (json.masked.length) console.log(`masked: ${json.masked.join(", ")}`);
  } finally {
    await engine.close();
  }
}
