// Latency of inline completion over a scripted typing session (run by hand, not a test):
//
//   node --import tsx test/completion/typing-session.ts [--debounce MS] [--ep cpu] [--seed N]
//
// Replays typing a Python module character by character at 10–20 characters per second,
// with VS Code's behaviour around the provider: every keystroke cancels the previous
// request and asks again; Enter inserts the next line's indentation at once. The typist
// pauses after Enter (a block suggestion) and after `(` or `= ` (a line suggestion) until the
// suggestion shows, reads it for a moment, and goes on. Measured from the last keystroke
// before a pause to the controller's answer (debounce included; VS Code's own rendering not):
//
//   warm   — the normal session: the engine reuses the cached keys and values of the prefix;
//   cold   — the same pauses, but the engine's prefix cache and the suggestion cache are
//            emptied just before the last keystroke (every prompt token computed again);
//   cached — after a suggestion shows, the typist types its first characters: each of those
//            keystrokes is answered from the suggestion cache.
import { readFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { EngineClient } from "../../src/engine/engine-client";
import { seededRandom } from "../../src/engine/sampler";
import type { EpPreference } from "../../src/engine/providers";
import {
  CompletionController,
  type CompletionSettings,
  type Suggestion,
} from "../../src/completion/controller";
import { promptTokenizer } from "../../src/completion/prompt";
import { SentencePieceTokenizer } from "../../src/tokenizer/tokenizer";
import { DEFAULTS } from "../../src/app/config";
import { DEMO_MODEL, SHARED, TEST_CACHE } from "../helpers/fixtures";

const TYPED = `

class Inventory:
    """Items in stock, by name."""

    def __init__(self, path):
        self.path = path
        self.items = {}

    def load(self):
        with open(self.path) as f:
            for line in f:
                name, count = line.strip().split(",")
                self.items[name] = int(count)
        return self.items

    def add(self, name, count=1):
        self.items[name] = self.items.get(name, 0) + count

    def remove(self, name, count=1):
        if self.items.get(name, 0) < count:
            raise ValueError("not enough " + name)
        self.items[name] -= count

    def total(self):
        return sum(self.items.values())


def main(argv):
    inventory = Inventory(argv[1])
    inventory.load()
    print(inventory.total())
`;

interface Keystroke {
  /** The text after this keystroke. */
  text: string;
  /** The typist pauses after it to read a suggestion. */
  pause: boolean;
}

/** Keystrokes that type `typed` after `context`: Enter brings the next line's indentation with it. */
function keystrokes(context: string, typed: string): Keystroke[] {
  const out: Keystroke[] = [];
  let text = context;
  for (let i = 0; i < typed.length; i++) {
    let chunk = typed[i]!;
    if (chunk === "\n") {
      const indent = /^[ \t]*/.exec(typed.slice(i + 1))![0];
      chunk += indent;
      i += indent.length;
    }
    text += chunk;
    const lineStart = chunk.startsWith("\n") && typed[i + 1] !== "\n" && i + 1 < typed.length;
    const midLine = chunk === "(" || (chunk === " " && text.endsWith("= "));
    out.push({ text, pause: lineStart || midLine });
  }
  return out;
}

const percentile = (xs: number[], p: number) => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      debounce: { type: "string" },
      ep: { type: "string" },
      seed: { type: "string" },
      "max-tokens": { type: "string" },
    },
  });
  const settings: CompletionSettings = {
    ...DEFAULTS,
    debounceMs: Number(values.debounce ?? DEFAULTS.debounceMs),
    maxTokens: Number(values["max-tokens"] ?? DEFAULTS.maxTokens),
  };
  const client = new EngineClient({
    modelDir: DEMO_MODEL,
    ep: (values.ep ?? "cpu") as EpPreference,
    cacheDir: TEST_CACHE,
  });
  const info = await client.start();
  const spm = SentencePieceTokenizer.fromFile(join(DEMO_MODEL, "tokenizer.model"));
  const tokenizer = promptTokenizer(spm);
  // What the file already holds above the typed code: the start of a real module.
  const context = readFileSync(join(SHARED, "corpus", "python", "0009.py"), "utf8")
    .split("\n")
    .slice(0, 60)
    .join("\n")
    .trimEnd();
  const keys = keystrokes(context, TYPED);
  const rand = seededRandom(Number(values.seed ?? 7));

  const results = { warm: [] as number[], cold: [] as number[], cached: [] as number[] };
  const empty = { warm: 0, cold: 0 };
  const speeds: number[] = [];
  const promptTokens: number[] = [];
  const controller = new CompletionController({
    engine: client,
    model: async () => ({ key: "demo", tokenizer, maxPositions: info.config.maxPositionEmbeddings }),
    steering: () => undefined,
    settings: () => settings,
    onEvent: (e) => {
      if (e.type === "generated") {
        if (e.result.decodeTokensPerS > 0) speeds.push(e.result.decodeTokensPerS);
        promptTokens.push(e.result.promptTokens);
      }
    },
  });

  const request = (text: string) => ({
    docKey: "file:///session/inventory.py",
    languageId: "python",
    textBefore: text,
    beforeStart: 0,
    textAfter: "\n",
    tabSize: 4,
    manual: false,
  });
  let previous: AbortController | undefined;
  /** One keystroke as VS Code sends it: the previous request is cancelled, a new one starts. */
  const press = (text: string): { started: number; done: Promise<Suggestion | undefined> } => {
    previous?.abort();
    const ctrl = new AbortController();
    previous = ctrl;
    const started = performance.now();
    return { started, done: controller.provide(request(text), ctrl.signal) };
  };
  const waitIdle = async () => {
    while (controller.busy) await sleep(5);
  };

  for (const mode of ["warm", "cold"] as const) {
    controller.reset();
    await waitIdle();
    await client.generate({ prompt: "#", maxTokens: 1 });
    for (const k of keys) {
      if (k.pause && mode === "cold") {
        controller.reset();
        await waitIdle();
        // the engine's prefix cache now holds nothing of this file
        await client.generate({ prompt: "#", maxTokens: 1 });
      }
      const { started, done } = press(k.text);
      if (!k.pause) {
        await sleep(50 + 50 * rand()); // 10–20 characters per second
        continue;
      }
      const s = await done;
      const latency = performance.now() - started;
      if (s) results[mode].push(latency);
      else empty[mode]++;
      if (mode === "warm" && s && s.text.length > 1) {
        // Type the start of the suggestion: each keystroke shows the rest from the cache.
        let text = k.text;
        for (const ch of s.text.slice(0, Math.min(4, s.text.length - 1))) {
          await sleep(50 + 50 * rand());
          text += ch;
          const typed = press(text);
          const r = await typed.done;
          if (r) results.cached.push(performance.now() - typed.started);
        }
      }
      await sleep(300); // reading the suggestion
    }
  }
  previous?.abort();
  await client.close();

  const row = (name: string, xs: number[], extra = "") =>
    `${name.padEnd(7)} n=${String(xs.length).padStart(3)}  p50 ` +
    `${percentile(xs, 50).toFixed(0).padStart(5)} ms  p95 ` +
    `${percentile(xs, 95).toFixed(0).padStart(5)} ms${extra}`;
  console.log(
    `typing session: ${keys.length} keystrokes, ${keys.filter((k) => k.pause).length} pauses; ` +
      `debounce ${settings.debounceMs} ms, max ${settings.maxTokens} tokens, prompt budget ` +
      `${settings.contextTokens} tokens, temperature ${settings.temperature}`,
  );
  console.log(
    `engine: ${info.ep}, ${cpus()[0]?.model.trim()} × ${cpus().length}; load average at the end ${loadavg()
      .map((x) => x.toFixed(2))
      .join(" ")}`,
  );
  console.log(
    `prompts: ${percentile(promptTokens, 50)} tokens median (max ${Math.max(...promptTokens)}); ` +
      `decode ${percentile(speeds, 50).toFixed(0)} tokens/s median`,
  );
  console.log(row("warm", results.warm, `  (${empty.warm} pauses with nothing to suggest)`));
  console.log(row("cold", results.cold, `  (${empty.cold} pauses with nothing to suggest)`));
  console.log(row("cached", results.cached));
  console.log(
    JSON.stringify({
      warm: results.warm.map(Math.round),
      cold: results.cold.map(Math.round),
      cached: results.cached.map((x) => Math.round(x * 10) / 10),
    }),
  );
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
