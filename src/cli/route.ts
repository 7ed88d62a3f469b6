// `monet-lens route`: per token, its text and span, the share of its routing mass that
// goes to each language's experts (per routing group and averaged) and its strongest
// experts — the data the routing heatmap draws (src/atlas/route-shares.ts).
import { readRegularText, TEXT_FILE_READ } from "../files/regular-file";
import { expertOwners, routeJson } from "../atlas/route-shares";
import { intOption, UsageError } from "./args";
import { command } from "./command";
import { ENGINE_OPTIONS, withEngine } from "./engine-options";
import { atlasForCli, SELECTION_OPTIONS, selectionFromOptions } from "./selection-options";

export const routeCommand = command({
  name: "route",
  summary: "per token: the languages' shares of its routing, its strongest experts",
  options: {
    text: { type: "string", value: "STR", help: "the text to route" },
    file: { type: "string", value: "PATH", help: "route this file's text instead" },
    top: { type: "string", value: "N", help: "strongest experts per token and routing group (default 3)" },
    ...SELECTION_OPTIONS,
    ...ENGINE_OPTIONS,
    json: { type: "boolean", help: "print the route JSON (what the heatmap draws)" },
  },
  notes: "Give --text or --file. Without an atlas for the model, only the experts are shown.",
  async run(values) {
    if ((values.text === undefined) === (values.file === undefined))
      throw new UsageError("route needs --text STR or --file PATH");
    const text = values.text ?? readRegularText(values.file!, TEXT_FILE_READ);
    const topK = intOption(values.top, "top", 3, 0);
    await withEngine(values, { quiet: values.json }, async (engine) => {
      const selection = selectionFromOptions(engine, values);
      const resolved = selection.atlas ?? atlasForCli(engine);
      const routed = await engine.route(text, selection.steering);
      const json = routeJson({
        model: engine.modelDir,
        atlasPath: resolved?.path ?? null,
        text,
        routed,
        owners: resolved ? expertOwners(resolved.atlas) : undefined,
        steering: selection.steering,
        masked: selection.languages,
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
        `${"token".padEnd(18)} ${"dominant".padEnd(12)} ` +
          `${langs.map((l) => l.slice(0, 6).padStart(6)).join(" ")}` +
          "  top expert (group head i j score)",
      );
      for (const t of json.tokens) {
        const best = t.top.reduce<(typeof t.top)[number] | undefined>(
          (b, e) => (!b || e[4] > b[4] ? e : b),
          undefined,
        );
        const shown = JSON.stringify(t.text).slice(0, 18);
        const shares = t.shares.map((s) => (s * 100).toFixed(1).padStart(6)).join(" ");
        const expert = best
          ? `${best[0]} ${best[1]} ${best[2]} ${best[3]} ` +
            `${best[4].toFixed(3)}${best[5] ? ` (${best[5]})` : ""}`
          : "";
        console.log(`${shown.padEnd(18)} ${(t.dominant ?? "-").padEnd(12)} ${shares}  ${expert}`);
      }
      if (json.masked.length) console.log(`masked: ${json.masked.join(", ")}`);
    });
  },
});
