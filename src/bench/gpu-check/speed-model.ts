// The checkpoint the GPU check times: a random-weight CodeMonet-VD 1.4B written on the machine
// by `monet-lens synth --shape 1.4b` (2.9 GB: written there rather than carried), with the
// published `moe_topk`, converted to float16 ahead of the speed runs (and its dense-decode
// variant written), while the exactness checks run.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { convertAhead, type CheckDtype } from "./adapter";
import { denseDecodePath, DenseDecodeUnavailable } from "./dense-decode";

/**
 * The published CodeMonet-VD 1.4B config (dmis-lab/codemonet-vd-1.4b-100bt) routes with
 * moe_topk 8; synth wrote 32 (the upstream default) before the Hub issue fixed it. The router's
 * threshold depends on it, so the speed model must carry the published value.
 */
export const PUBLISHED_MOE_TOPK = 8;

export interface SpeedModelInfo {
  dir: string;
  synth_s?: number;
  convert_s?: number;
  moe_topk_written_by_synth?: number;
  moe_topk?: number;
  dense_decode_variant: string;
  dtype: CheckDtype;
}

/** Sets config.json's moe_topk to the published value; returns what synth had written. */
export function publishedTopk(dir: string): number | undefined {
  const file = join(dir, "config.json");
  const config = JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
  const written = config.moe_topk as number | undefined;
  if (written !== PUBLISHED_MOE_TOPK) {
    config.moe_topk = PUBLISHED_MOE_TOPK;
    const tmp = `${file}.tmp-${process.pid}`;
    writeFileSync(tmp, `${JSON.stringify(config, null, 2)}\n`);
    renameSync(tmp, file);
  }
  return written;
}

/**
 * Writes the 1.4B (when `synth` and absent) with the published moe_topk, converts it, writes
 * its dense-decode variant, then `readyFile` (the speed phases wait for it). A given model
 * (synth false) is converted as it is.
 */
export async function prepareSpeedModel(opts: {
  dir: string;
  synth: boolean;
  cacheDir: string;
  cliPath: string;
  dtype: CheckDtype;
  readyFile: string;
  log: (line: string) => void;
}): Promise<SpeedModelInfo> {
  const info: SpeedModelInfo = { dir: opts.dir, dense_decode_variant: "", dtype: opts.dtype };
  if (opts.synth) {
    if (!existsSync(join(opts.dir, "config.json"))) {
      const t0 = Date.now();
      const r = spawnSync(process.execPath, [opts.cliPath, "synth", "--shape", "1.4b", "--out", opts.dir], {
        stdio: ["ignore", "inherit", "pipe"],
        encoding: "utf8",
      });
      if (r.status !== 0)
        throw new Error(
          `monet-lens synth failed (exit ${r.status ?? r.signal}): ${(r.stderr ?? "").slice(-500)}`,
        );
      info.synth_s = (Date.now() - t0) / 1000;
    }
    info.moe_topk_written_by_synth = publishedTopk(opts.dir);
  }
  info.moe_topk = (
    JSON.parse(readFileSync(join(opts.dir, "config.json"), "utf8")) as { moe_topk?: number }
  ).moe_topk;
  const t1 = Date.now();
  const modelPath = await convertAhead(opts.dir, opts.dtype, opts.cacheDir);
  info.convert_s = (Date.now() - t1) / 1000;
  try {
    denseDecodePath(modelPath);
    info.dense_decode_variant = "written";
  } catch (e) {
    if (!(e instanceof DenseDecodeUnavailable)) throw e;
    info.dense_decode_variant = `unavailable: ${e.message}`;
  }
  opts.log(`ready: ${JSON.stringify(info)}`);
  const tmp = `${opts.readyFile}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify(info, null, 2));
  renameSync(tmp, opts.readyFile);
  return info;
}
