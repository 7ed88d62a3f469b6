// Route data from the real engine on the demo model, as `monet-lens route --json` makes it
// (Engine.route + route-shares.ts routeJson), for the page tests: with the shipped atlas
// (models/atlases/) when there is one for the demo model, else with a small atlas built
// here from the routing of a few files of ../shared/corpus; the same code with the
// selection's dominant language masked; and the greedy continuation of a prompt with and
// without that mask (the A/B view's data).
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { findAtlas } from "../../src/atlas/atlas-store";
import { expertOwners, routeJson, type ExpertOwners } from "../../src/atlas/route-shares";
import { Engine } from "../../src/engine/engine";
import { type Steering, steeringFromIndexLists } from "../../src/engine/steering";
import type { CompareData, Continuation, RouteData } from "../../src/heatmap-shared/route-data";
import { buildHeatView, dominantOf } from "../../src/heatmap-shared/view-model";
import { DEMO_MODEL, SHARED, TEST_CACHE } from "../helpers/fixtures";

export const DEMO_TEXT = [
  "def word_counts(path, limit=10):",
  '    """Count the words of a file; return the `limit` most common. 🚀"""',
  "    counts = {}",
  '    with open(path, encoding="utf-8") as f:',
  "        for line in f:",
  "            for word in line.lower().split():",
  "                counts[word] = counts.get(word, 0) + 1",
  "\titems = sorted(counts.items(), key=lambda kv: -kv[1])",
  "    return items[:limit]",
  "",
].join("\n");

export const AB_PROMPT = 'def fibonacci(n):\n    """Return the n-th Fibonacci number."""\n';

export interface DemoData {
  route: RouteData;
  /** The same text routed with no atlas (no language columns). */
  noAtlas: RouteData;
  masked: RouteData;
  maskedLanguages: string[];
  compare: CompareData;
  atlasSource: string;
}

const CONSTRUCTED_LANGUAGES = ["c", "javascript", "lua", "python", "rust"];
const EXPERTS_PER_LANGUAGE = 3000;

/**
 * A small atlas: each expert (per group) goes to the language whose tokens route the most
 * mass to it, per token, if that is at least 3× its mean over the languages; the
 * EXPERTS_PER_LANGUAGE strongest such experts per language and group are kept.
 */
async function constructOwners(engine: Engine): Promise<ExpertOwners> {
  const E = engine.config.moeExperts;
  const H = engine.config.moeHeads;
  const G = engine.routingGroups;
  const L = CONSTRUCTED_LANGUAGES.length;
  const mass = Array.from({ length: G }, () => new Float32Array(E * E * L));
  const js = new Int32Array(E);
  const vs = new Float64Array(E);
  for (const [l, lang] of CONSTRUCTED_LANGUAGES.entries()) {
    const dir = join(SHARED, "corpus", lang);
    const files = readdirSync(dir).sort().slice(0, 1);
    let tokens = 0;
    for (const f of files) {
      const text = readFileSync(join(dir, f), "utf8").slice(0, 700);
      const r = await engine.route(text);
      const T = r.shape.tokens;
      tokens += T - 1;
      for (let g = 0; g < G; g++) {
        const g1 = r.routing.g1[g]!;
        const g2 = r.routing.g2[g]!;
        const m = mass[g]!;
        for (let t = 1; t < T; t++) {
          for (let h = 0; h < H; h++) {
            const base = (t * H + h) * E;
            let n2 = 0;
            for (let j = 0; j < E; j++)
              if (g2[base + j] !== 0) {
                js[n2] = j;
                vs[n2++] = g2[base + j]!;
              }
            for (let i = 0; i < E; i++) {
              const a = g1[base + i]!;
              if (a === 0) continue;
              for (let k = 0; k < n2; k++) m[(i * E + js[k]!) * L + l]! += a * vs[k]!;
            }
          }
        }
      }
    }
    for (const m of mass) for (let e = 0; e < E * E; e++) m[e * L + l]! /= Math.max(tokens, 1);
  }
  const groups = mass.map((m) => {
    const owner = new Int16Array(E * E).fill(-1);
    const candidates: Array<Array<[number, number]>> = Array.from({ length: L }, () => []);
    for (let e = 0; e < E * E; e++) {
      let best = -1;
      let bestV = 0;
      let sum = 0;
      for (let l = 0; l < L; l++) {
        const v = m[e * L + l]!;
        sum += v;
        if (v > bestV) {
          bestV = v;
          best = l;
        }
      }
      if (best >= 0 && bestV >= (3 * sum) / L) candidates[best]!.push([e, bestV]);
    }
    candidates.forEach((c, l) => {
      c.sort((a, b) => b[1] - a[1]);
      for (const [e] of c.slice(0, EXPERTS_PER_LANGUAGE)) owner[e] = l;
    });
    return owner;
  });
  return { languages: [...CONSTRUCTED_LANGUAGES], experts: E, groups };
}

function masksFor(owners: ExpertOwners, languages: readonly string[]): Steering {
  const ids = languages.map((l) => owners.languages.indexOf(l));
  const perGroup = owners.groups.map((own) => {
    const out: number[] = [];
    own.forEach((o, e) => {
      if (ids.includes(o)) out.push(e);
    });
    return out;
  });
  return steeringFromIndexLists(perGroup, owners.experts, languages.join(", "));
}

function continuation(engine: Engine, text: string, ids: number[]): Continuation {
  return { text, ids, pieces: ids.map((id) => engine.tokenizer.idToPiece(id)) };
}

/** `shippedDir`: where to look for an atlas of the demo model (the shipped atlases by default). */
export async function demoData(shippedDir = join(process.cwd(), "models", "atlases")): Promise<DemoData> {
  const engine = await Engine.open({ modelDir: DEMO_MODEL, ep: "cpu", cacheDir: TEST_CACHE });
  try {
    const shipped = existsSync(shippedDir) ? findAtlas(engine.identity, undefined, shippedDir) : undefined;
    const owners = shipped ? expertOwners(shipped.atlas) : await constructOwners(engine);
    const atlasPath = shipped?.path ?? "test-constructed.atlas.json";
    const routed = await engine.route(DEMO_TEXT);
    const route = routeJson({ model: engine.modelDir, atlasPath, text: DEMO_TEXT, routed, owners });
    // The language with the largest share of the selection (masking a control class is not offered).
    const dominant =
      dominantOf(buildHeatView(route, "all").summary.values, route.languages).language ??
      owners.languages[0]!;
    const maskedLanguages = [dominant];
    const masks = masksFor(owners, maskedLanguages);
    const routedMasked = await engine.route(DEMO_TEXT, masks);
    const masked = routeJson({
      model: engine.modelDir,
      atlasPath,
      text: DEMO_TEXT,
      routed: routedMasked,
      owners,
      steering: masks,
      masked: maskedLanguages,
    });
    engine.resetCache();
    const plain = await engine.generate(AB_PROMPT, { maxTokens: 32 });
    engine.resetCache();
    const withMask = await engine.generate(AB_PROMPT, { maxTokens: 32, steering: masks });
    return {
      route,
      noAtlas: routeJson({ model: engine.modelDir, atlasPath: null, text: DEMO_TEXT, routed }),
      masked,
      maskedLanguages,
      compare: {
        plain: continuation(engine, plain.text, plain.ids),
        masked: continuation(engine, withMask.text, withMask.ids),
      },
      atlasSource: shipped
        ? `shipped atlas ${shipped.path}`
        : `atlas constructed in the test from ../shared/corpus (${CONSTRUCTED_LANGUAGES.join(", ")})`,
    };
  } finally {
    await engine.close();
  }
}
