// The README's "Use the real model" figures, end to end with the published 1.4B shape: `synth`
// writes a random-weight CodeMonet-VD 1.4B folder (the published config), `pull` fetches it
// from the loopback Hub (fake-hub.ts) into a Hugging Face cache, then `generate --model REPO`
// with HF_HUB_OFFLINE=1 runs it from the cache: the first time converting it to ONNX, then a
// second time from the converted copy. Wall time and peak memory of each process (/usr/bin/time
// -v), the conversion's share (from the CLI's progress lines), disk use and the load average.
// Needs ~12 GB of disk and ~10 GB of memory; everything is deleted at the end.
//
//   npm run build && flock /tmp/monet-heavy.lock node --import tsx test/hub/bench-real-model.ts [WORK_DIR]
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { repoFromFolder, startFakeHub } from "./fake-hub";

const REPO = "MonetLLM/codemonet-synth-1.4b";
const PROMPT = 'def fibonacci(n):\n    """Return the n-th Fibonacci number."""\n';
const CLI = join(process.cwd(), "dist", "cli.js");

interface Run {
  stdout: string;
  /** [seconds since start, line] of stderr's lines (progress lines split at \r). */
  lines: Array<[number, string]>;
  wallS: number;
  peakMB: number;
}

function run(args: string[], env: NodeJS.ProcessEnv, timeLog: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn("/usr/bin/time", ["-v", "-o", timeLog, process.execPath, CLI, ...args], {
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let pending = "";
    const lines: Array<[number, string]> = [];
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => {
      const parts = (pending + d).split(/[\r\n]/);
      pending = parts.pop()!;
      for (const p of parts) if (p.trim()) lines.push([(performance.now() - t0) / 1000, p]);
    });
    child.on("close", (code) => {
      if (pending.trim()) lines.push([(performance.now() - t0) / 1000, pending]);
      if (code !== 0)
        return reject(new Error(`${args[0]} exited ${code}: ${lines.map((l) => l[1]).join("\n")}`));
      const time = readFileSync(timeLog, "utf8");
      resolve({
        stdout,
        lines,
        wallS: (performance.now() - t0) / 1000,
        peakMB: Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(time)![1]) / 1024,
      });
    });
  });
}

const load = () => readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
const du = (dir: string) =>
  new Promise<string>((resolve) => {
    const c = spawn("du", ["-sh", dir]);
    let s = "";
    c.stdout.on("data", (d) => (s += d));
    c.on("close", () => resolve(s.split("\t")[0]!));
  });

async function main(): Promise<void> {
  const work = mkdtempSync(join(process.argv[2] ?? tmpdir(), "monet-bench-real-"));
  const say = (s: string) => console.log(`[${new Date().toISOString()}, load ${load()}] ${s}`);
  try {
    const folder = join(work, "synth-1.4b");
    const base: NodeJS.ProcessEnv = { ...process.env, MONET_LENS_CACHE: join(work, "monet-lens-cache") };
    delete base.HF_TOKEN;
    const synth = await run(["synth", "--out", folder], base, join(work, "t0"));
    say(`synth 1.4b: ${synth.wallS.toFixed(1)} s, peak ${synth.peakMB.toFixed(0)} MB, ${await du(folder)}`);

    const hub = await startFakeHub([repoFromFolder(REPO, folder)]);
    const hf = join(work, "hf-cache");
    const pulled = await run(
      ["pull", REPO, "--json"],
      { ...base, HF_ENDPOINT: hub.url, HF_HUB_CACHE: hf, HF_TOKEN_PATH: join(work, "none") },
      join(work, "t1"),
    ).finally(() => hub.close());
    const bytes = (JSON.parse(pulled.stdout) as { bytesFetched: number }).bytesFetched;
    say(
      `pull from the loopback Hub: ${(bytes / 1e9).toFixed(2)} GB in ${pulled.wallS.toFixed(1)} s, ` +
        `peak ${pulled.peakMB.toFixed(0)} MB`,
    );
    rmSync(folder, { recursive: true, force: true }); // from here on, only the cache has the model

    const offline = { ...base, HF_HUB_CACHE: hf, HF_HUB_OFFLINE: "1", HF_ENDPOINT: "http://127.0.0.1:9" };
    for (const pass of ["first (converts)", "second (converted)"]) {
      // Not --json: the progress lines (conversion) and the summary line come on stderr.
      const g = await run(
        ["generate", "--model", REPO, "--prompt", PROMPT, "--max-tokens", "16", "--ep", "cpu"],
        offline,
        join(work, "t2"),
      );
      const converted = g.lines.filter(([, l]) => /converting: 100%/.test(l)).at(-1)?.[0];
      const summary = g.lines.map(([, l]) => l).find((l) => /prompt tokens, prefill/.test(l)) ?? "";
      say(
        `generate --model ${REPO} offline, ${pass}: ${g.wallS.toFixed(1)} s in all` +
          (converted === undefined ? "" : ` (conversion done at ${converted.toFixed(1)} s)`) +
          `, peak ${g.peakMB.toFixed(0)} MB; ${summary}`,
      );
    }
    say(
      `disk: the Hugging Face cache ${await du(hf)}, converted models ${await du(join(work, "monet-lens-cache"))}`,
    );
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
