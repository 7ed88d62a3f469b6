// Measures `monet-lens pull` from the loopback fake Hub (wall time and peak memory of the pull
// process, by /usr/bin/time -v) and the full-content fingerprint (first open: hashed; second:
// remembered). Usage: node --import tsx test/hub/bench-pull.ts MODEL_DIR
// Run it under the shared lock for big folders: flock /tmp/monet-heavy.lock node --import tsx …
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Checkpoint } from "../../src/checkpoint/checkpoint";
import { repoFromFolder, startFakeHub } from "./fake-hub";

async function main(): Promise<void> {
  const dir = process.argv[2];
  if (!dir) throw new Error("usage: bench-pull.ts MODEL_DIR");
  const work = mkdtempSync(join(tmpdir(), "monet-bench-pull-"));
  try {
    let t = performance.now();
    const hub = await startFakeHub([repoFromFolder("bench/model", dir)]);
    console.log(`fake Hub ready (hashed the folder) in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    const cache = join(work, "hf");
    const env: NodeJS.ProcessEnv = { ...process.env, HF_ENDPOINT: hub.url, HF_HUB_CACHE: cache };
    delete env.HF_TOKEN;
    delete env.HF_HUB_OFFLINE;
    const timeLog = join(work, "time.txt");
    const out = await new Promise<string>((resolve, reject) => {
      const child = spawn(
        "/usr/bin/time",
        ["-v", "-o", timeLog, process.execPath, "dist/cli.js", "pull", "bench/model", "--json"],
        {
          env,
          stdio: ["ignore", "pipe", "inherit"],
        },
      );
      let s = "";
      child.stdout.on("data", (d) => (s += d));
      child.on("close", (code) => (code === 0 ? resolve(s) : reject(new Error(`pull exited ${code}`))));
    });
    await hub.close();
    const r = JSON.parse(out) as { dir: string; bytesFetched: number };
    const time = readFileSync(timeLog, "utf8");
    const wall = /Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (.+)/.exec(time)![1]!;
    const rss = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(time)![1]) / 1024;
    console.log(
      `pull: ${(r.bytesFetched / 1e9).toFixed(3)} GB in ${wall} (wall), peak RSS ${rss.toFixed(0)} MB`,
    );

    const hashes = join(work, "content-hashes.json");
    for (const [label, folder] of [
      ["the folder", dir],
      ["the pulled snapshot", r.dir],
    ] as const) {
      for (const pass of ["first open", "second open"]) {
        const ck = await Checkpoint.open(folder);
        const sources = new Set<string>();
        t = performance.now();
        await ck.fingerprint({ cacheFile: hashes, onShardHash: (_, s) => sources.add(s) });
        const ms = performance.now() - t;
        await ck.close();
        console.log(`fingerprint of ${label}, ${pass}: ${ms.toFixed(0)} ms (${[...sources].join(", ")})`);
      }
    }
    console.log(`load average: ${readFileSync("/proc/loadavg", "utf8").trim()}`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
