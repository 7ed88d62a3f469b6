// What the converted-model checksums cost at load (src/engine/converted-checksums.ts): the
// usual case, an unchanged stamp (two stats), and a full sha256 of the files (after a file's
// stamp changed), for the demo model's conversion; then the hash's throughput on a large file
// (from the page cache, as right after a conversion), and from it the full check of a 1.4B-shape
// conversion as an estimate: throughput × size, not a measurement of that model.
//
//   node --import tsx test/reliability/checksum-cost.ts [--big-mib 2048]
import { closeSync, mkdtempSync, openSync, rmSync, statSync, writeSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { sha256OfFile } from "../../src/checkpoint/content-hash";
import { CHECKED_FILES, verifyChecksums } from "../../src/engine/converted-checksums";
import { Engine } from "../../src/engine/engine";
import { DEMO_MODEL, TEST_CACHE } from "../helpers/fixtures";

/** Converted 1.4B shape (README "Speed"): float32 5.9 GB; float16 half of it. */
const SHAPE_1_4B_BYTES = { float32: 5.9e9, float16: 2.95e9 };

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { "big-mib": { type: "string" } } });
  const bigMiB = Number(values["big-mib"] ?? 2048);
  const engine = await Engine.open({ modelDir: DEMO_MODEL, ep: "cpu", cacheDir: TEST_CACHE });
  const dir = engine.convertedDir;
  await engine.close();
  const bytes = CHECKED_FILES.reduce((n, f) => n + statSync(join(dir, f)).size, 0);

  await verifyChecksums(dir); // records the stamps if they were not
  let t = performance.now();
  const N = 200;
  for (let i = 0; i < N; i++) if (!(await verifyChecksums(dir)).ok) throw new Error("damaged");
  const stampMs = (performance.now() - t) / N;

  t = performance.now();
  for (const f of CHECKED_FILES) await sha256OfFile(join(dir, f));
  const demoFullMs = performance.now() - t;

  const scratch = mkdtempSync(join(TEST_CACHE, "..", "checksum-cost-"));
  try {
    const big = join(scratch, "big.bin");
    const chunk = Buffer.alloc(4 << 20);
    for (let i = 0; i < chunk.length; i++) chunk[i] = (i * 2654435761) >>> 24;
    const fd = openSync(big, "w");
    for (let i = 0; i < bigMiB / 4; i++) writeSync(fd, chunk);
    closeSync(fd);
    await sha256OfFile(big); // warm the page cache as a conversion just written would be
    t = performance.now();
    await sha256OfFile(big);
    const bigMs = performance.now() - t;
    const mbPerS = (bigMiB * 2 ** 20) / 1e6 / (bigMs / 1000);
    const est = (b: number) => `${((b / 1e6 / mbPerS) * 1).toFixed(1)} s`;
    console.log(
      `machine: ${cpus()[0]?.model.trim()} × ${cpus().length}; load average ${loadavg()
        .map((x) => x.toFixed(2))
        .join(" ")}`,
    );
    console.log(
      `demo conversion (${(bytes / 1e6).toFixed(1)} MB): unchanged stamp ${stampMs.toFixed(3)} ms per load; full sha256 ${demoFullMs.toFixed(0)} ms`,
    );
    console.log(
      `sha256 throughput, ${bigMiB} MiB from the page cache: ${mbPerS.toFixed(0)} MB/s (${bigMs.toFixed(0)} ms)`,
    );
    console.log(
      `estimate (throughput × size, not measured on the model): full check of a 1.4B-shape conversion ` +
        `${est(SHAPE_1_4B_BYTES.float32)} (float32, 5.9 GB), ${est(SHAPE_1_4B_BYTES.float16)} (float16, 2.95 GB)`,
    );
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
