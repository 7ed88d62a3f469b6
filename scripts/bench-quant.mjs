// Quantized weights against float32, in one run (docs/quantization.md): per dtype, the conversion
// (time, peak memory, bytes on disk), decoding and prefill speed (`monet-lens bench`) with the
// peak memory of that process, and with --quality the demo model's greedy agreement with float32
// and `atlas eval` (cross-entropy per language and the masking matrix's pass count).
//   node scripts/bench-quant.mjs [--model DIR] [--dtypes float32,int8,int4] [--quality]
//        [--prefill 128,512] [--new-tokens 32] [--threads N] [--corpus DIR] [--eval-tokens N]
//        [--rounds N] [--huge-pages off|on|both]
// --rounds: bench every dtype N times, the dtypes interleaved round after round (the order reversed
// every other round), and report the median decoding rate and each round's ratio: a shared
// machine's speed drifts by a quarter between minutes, so one run per dtype is not a ratio.
// --huge-pages: on runs every bench with the CLI's --huge-pages on (glibc's malloc asks for
// transparent huge pages; README "Huge pages"), off with --huge-pages off (the CLI's default,
// auto, would take them for large models), both benches each dtype with and without them,
// interleaved, as two rows ("int4 +hp"); off is the default.
// --eval-tokens: held-out tokens per language for atlas eval (its --max-tokens-per-language, default 2048).
// Conversions go to a fresh cache folder (removed at the end), so each is timed from scratch.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { cpus, loadavg, tmpdir, totalmem } from "node:os";
import { join } from "node:path";

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const model = opt("model", "models/tiny-codemonet");
const dtypes = opt("dtypes", "float32,int8,int4").split(",");
const quality = args.includes("--quality");
const corpus = opt("corpus", join("..", "shared", "corpus"));
const threads = opt("threads", undefined);
const evalTokens = opt("eval-tokens", undefined);
const rounds = Number(opt("rounds", "1"));
const hugePages = opt("huge-pages", "off");
if (!["off", "on", "both"].includes(hugePages))
  throw new Error(`--huge-pages ${hugePages}: use off, on or both`);
if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds ${rounds}: use a positive integer`);
const TIME = "/usr/bin/time";
if (!existsSync(TIME))
  throw new Error(`${TIME} not found (Debian: apt-get install time); it measures peak memory`);
if (!existsSync("dist/cli.js")) throw new Error("dist/cli.js not found: run npm run build first");

const cache = mkdtempSync(join(tmpdir(), "monet-bench-quant-"));
const env = { ...process.env, MONET_LENS_CACHE: cache };

/** stdout of the CLI, and /usr/bin/time's wall seconds and peak RSS (MiB) from stderr. */
function run(argv) {
  const res = spawn(argv);
  const m = /@@time ([\d.]+) (\d+)/.exec(res.stderr);
  if (res.status !== 0 || !m)
    throw new Error(`monet-lens ${argv.join(" ")} failed:\n${res.stderr.slice(-2000)}`);
  return { stdout: res.stdout, seconds: Number(m[1]), peakMiB: Math.round(Number(m[2]) / 1024) };
}
function spawn(argv) {
  return spawnSync(TIME, ["-f", "@@time %e %M", process.execPath, "dist/cli.js", ...argv], {
    encoding: "utf8",
    env,
    maxBuffer: 1 << 28,
  });
}

const convertedDir = (dtype) => {
  const root = join(cache, "converted");
  const name = readdirSync(root).find((n) => n.endsWith(`-${dtype}`) && !n.includes(".tmp"));
  return name ? join(root, name) : undefined;
};
const folderBytes = (dir) => readdirSync(dir).reduce((s, n) => s + statSync(join(dir, n)).size, 0);

const prompts = (() => {
  const greedy = join("..", "shared", "fixtures", "tiny-codemonet", "greedy.json");
  return existsSync(greedy)
    ? Object.values(JSON.parse(readFileSync(greedy, "utf8"))).map((c) => c.prompt)
    : [];
})();

// The conversion and quality runs take huge pages as the benches of `--huge-pages on` do.
const modelArgs = ["--model", model, "--ep", "cpu"];
const common = [...modelArgs, "--huge-pages", hugePages === "on" ? "on" : "off"];
const results = [];
try {
  for (const dtype of dtypes) {
    const r = { dtype, graph_dtype: dtype, huge_pages: hugePages === "on" };
    // Conversion (and one short generation, which opens the session).
    const conv = run([
      "generate",
      ...common,
      "--dtype",
      dtype,
      "--prompt",
      "def f(x):\n",
      "--max-tokens",
      "2",
      "--json",
    ]);
    r.convert_s = conv.seconds;
    r.convert_peak_mib = conv.peakMiB;
    r.disk_mib = Math.round(folderBytes(convertedDir(dtype)) / 2 ** 20);
    benchInto(r);
    if (quality) {
      r.greedy = prompts.map(
        (p) =>
          JSON.parse(
            run(["generate", ...common, "--dtype", dtype, "--prompt", p, "--max-tokens", "64", "--json"])
              .stdout,
          ).ids,
      );
      const ev = JSON.parse(
        run([
          "atlas",
          "eval",
          ...common,
          "--dtype",
          dtype,
          "--corpus",
          corpus,
          "--json",
          ...(evalTokens ? ["--max-tokens-per-language", evalTokens] : []),
        ]).stdout,
      );
      r.ce = ev.none;
      r.masking_passed = ev.passed.length;
      r.masking_languages = ev.passed.length + ev.failed.length;
      r.masking_failed = ev.failed;
    }
    results.push(r);
    process.stderr.write(`${JSON.stringify(r)}\n`);
    if (hugePages === "both") {
      // The same conversion, benched with the tunable: a second row.
      const hp = { ...r, dtype: `${dtype} +hp`, huge_pages: true, decode_runs: [], prefill_runs: [] };
      // Its quality is the row above's (the same graph): not measured twice.
      for (const k of ["bench_peak_mib", "anon_huge_pages_mib", "greedy", "ce", "masking_passed"])
        delete hp[k];
      benchInto(hp);
      results.push(hp);
      process.stderr.write(`${JSON.stringify(hp)}\n`);
    }
  }
  for (let round = 1; round < rounds; round++) {
    const order = round % 2 ? [...results].reverse() : results;
    for (const r of order) benchInto(r);
    process.stderr.write(
      `round ${round + 1}: ${results.map((r) => `${r.dtype} ${r.decode_runs.at(-1)}`).join(", ")}\n`,
    );
  }
  for (const r of results) r.decode_tokens_per_s = median(r.decode_runs);
} finally {
  rmSync(cache, { recursive: true, force: true });
}

/** One `monet-lens bench` of r.dtype: its decoding rate joins r.decode_runs; prefill and peak memory are kept at their worst. */
function benchInto(r) {
  const bench = run([
    "bench",
    ...modelArgs,
    "--huge-pages",
    r.huge_pages ? "on" : "off",
    "--dtype",
    r.graph_dtype,
    "--json",
    "--prefill",
    opt("prefill", "128,512"),
    "--new-tokens",
    opt("new-tokens", "32"),
    ...(threads ? ["--threads", threads] : []),
  ]);
  const b = JSON.parse(bench.stdout);
  r.decode_runs = [...(r.decode_runs ?? []), b.decode_tokens_per_s];
  r.decode_tokens_per_s = b.decode_tokens_per_s;
  r.prefill_runs = [...(r.prefill_runs ?? []), b.prefill_ms];
  r.prefill_ms = Object.fromEntries(
    Object.keys(b.prefill_ms).map((T) => [T, Math.round(median(r.prefill_runs.map((p) => p[T])) * 10) / 10]),
  );
  r.bench_peak_mib = Math.max(r.bench_peak_mib ?? 0, bench.peakMiB);
  r.anon_huge_pages_mib = Math.max(r.anon_huge_pages_mib ?? 0, b.anon_huge_pages_mib ?? 0);
}
function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

// Report: ratios against the first dtype (float32 by default).
const base = results[0];
const mean = (o) => Object.values(o).reduce((a, x) => a + x, 0) / Object.values(o).length;
const agree = (a, b) => {
  let n = 0;
  while (n < a.length && n < b.length && a[n] === b[n]) n++;
  return n;
};
console.log(
  `${model}, ${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, ${Math.round(totalmem() / 2 ** 30)} GiB, load average ${loadavg()
    .map((x) => x.toFixed(2))
    .join(
      " ",
    )} at the end, ${new Date().toISOString().slice(0, 10)}${quality ? `, atlas eval over ${evalTokens ?? 2048} held-out tokens per language` : ""}\n`,
);
const prefills = Object.keys(base.prefill_ms);
console.log(
  `| dtype | decode tokens/s${rounds > 1 ? ` (median of ${rounds})` : ""} | ${prefills.map((p) => `prefill ${p} ms`).join(" | ")} | bench peak MiB | huge pages MiB | convert s | convert+load peak MiB | on disk MiB |${quality ? " greedy tokens = float32 | mean CE (vs float32) | worst language | masking test |" : ""}`,
);
console.log(
  `|---|---:|${prefills.map(() => "---:").join("|")}|---:|---:|---:|---:|---:|${quality ? "---:|---:|---|---|" : ""}`,
);
for (const r of results) {
  const speed = `${r.decode_tokens_per_s} (${(r.decode_tokens_per_s / base.decode_tokens_per_s).toFixed(2)}×)`;
  const pre = prefills.map(
    (p) => `${r.prefill_ms[p]} (${(base.prefill_ms[p] / r.prefill_ms[p]).toFixed(2)}×)`,
  );
  let q = "";
  if (quality && r.ce === undefined) q = " as above | as above | as above | as above |";
  else if (quality) {
    const same = r.greedy.reduce((s, ids, i) => s + agree(ids, base.greedy[i]), 0);
    const total = base.greedy.reduce((s, ids) => s + ids.length, 0);
    const rel = Object.entries(r.ce).map(([l, x]) => [l, (x - base.ce[l]) / base.ce[l]]);
    const worst = rel.sort((a, b) => b[1] - a[1])[0];
    q = ` ${same}/${total} | ${mean(r.ce).toFixed(3)} (${(((mean(r.ce) - mean(base.ce)) / mean(base.ce)) * 100).toFixed(1)} %) | ${worst[0]} ${(worst[1] * 100).toFixed(1)} % | ${r.masking_passed} of ${r.masking_languages} |`;
  }
  console.log(
    `| ${r.dtype} | ${speed} | ${pre.join(" | ")} | ${r.bench_peak_mib} | ${r.anon_huge_pages_mib} | ${r.convert_s} | ${r.convert_peak_mib} | ${r.disk_mib} |${q}`,
  );
}
if (rounds > 1) {
  console.log(
    `\nDecoding rate per round (tokens/s; the dtypes interleaved), and each round's ratio to ${base.dtype}:\n`,
  );
  console.log(
    `| round | ${results.map((r) => r.dtype).join(" | ")} |\n|---:|${results.map(() => "---:").join("|")}|`,
  );
  for (let k = 0; k < rounds; k++)
    console.log(
      `| ${k + 1} | ${results.map((r) => (r === base ? `${r.decode_runs[k]}` : `${r.decode_runs[k]} (${(r.decode_runs[k] / base.decode_runs[k]).toFixed(2)}×)`)).join(" | ")} |`,
    );
}
if (quality) {
  console.log(
    `\n| language | ${results.map((r) => r.dtype).join(" | ")} |\n|---|${results.map(() => "---:").join("|")}|`,
  );
  for (const l of Object.keys(base.ce))
    console.log(
      `| ${l} | ${results.map((r) => (r === base ? r.ce[l].toFixed(3) : `${r.ce[l].toFixed(3)} (${(((r.ce[l] - base.ce[l]) / base.ce[l]) * 100).toFixed(1)} %)`)).join(" | ")} |`,
    );
}
console.log(`\n${JSON.stringify(results)}`);
