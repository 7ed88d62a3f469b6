// Speed of monet-lens against the PyTorch reference (../shared/reference/bench_cpu_ref.py,
// Debian's python3-torch, fp32 eager with a KV cache), both measured in this one run on
// the same checkpoint. A development aid: the product itself has no Python.
//   node scripts/bench-vs-reference.mjs [--model DIR] [--ref-threads 1,2]
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const model = opt("model", "models/tiny-codemonet");
const refThreads = opt("ref-threads", "1,2").split(",").map(Number);
const python = "/usr/bin/python3";
const refScript = join("..", "shared", "reference", "bench_cpu_ref.py");
if (!existsSync(refScript))
  throw new Error(`${refScript} not found: run from the project root with ../shared beside it`);

const ours = JSON.parse(
  execFileSync(process.execPath, ["dist/cli.js", "bench", "--model", model, "--json"], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  }),
);
const refs = refThreads.map((n) => ({
  threads: n,
  ...JSON.parse(
    execFileSync(python, [refScript, model], {
      encoding: "utf8",
      env: { ...process.env, OMP_NUM_THREADS: String(n), MKL_NUM_THREADS: String(n) },
    })
      .trim()
      .split("\n")
      .pop(),
  ),
}));
// The reference's best setting on each figure, as the issue asks.
const best = {
  prefill_128_ms: Math.min(...refs.map((r) => r.prefill_128_ms)),
  prefill_512_ms: Math.min(...refs.map((r) => r.prefill_512_ms)),
  decode_tokens_per_s: Math.max(...refs.map((r) => r.decode_tokens_per_s)),
};
const report = {
  machine: `${cpus().length} × ${cpus()[0]?.model ?? "cpu"}`,
  model,
  monet_lens: ours,
  reference: refs,
  ratios: {
    decode_speedup: +(ours.decode_tokens_per_s / best.decode_tokens_per_s).toFixed(2),
    prefill_128_speedup: +(best.prefill_128_ms / ours.prefill_ms["128"]).toFixed(2),
    prefill_512_speedup: +(best.prefill_512_ms / ours.prefill_ms["512"]).toFixed(2),
  },
};
console.log(JSON.stringify(report, null, 2));
