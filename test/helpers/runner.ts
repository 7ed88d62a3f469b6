// A MonetRunner on the CPU for a checkpoint folder (a fixture or the demo model): converted
// through the tests' shared conversion cache with the default graph options, or, for another
// attention form, into a fresh folder that is removed once the session holds the model.
import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { Checkpoint } from "../../src/checkpoint/checkpoint";
import { ensureConverted } from "../../src/engine/model-store";
import { openSession } from "../../src/engine/session";
import { MonetRunner } from "../../src/engine/runner";
import { convertToOnnx, MODEL_FILE } from "../../src/model/convert";
import type { GraphDtype, GraphOptions } from "../../src/model/monet-graph";
import { TEST_CACHE } from "./fixtures";

export interface TestRunnerOptions {
  dtype?: GraphDtype;
  /** Another attention form than the default (a conversion of its own). */
  attention?: Exclude<GraphOptions["attention"], "padded" | undefined>;
  /** Writes onnxruntime's trace of every run under this prefix (end it with session.endProfiling()). */
  profilePrefix?: string;
}

export async function testRunner(checkpointDir: string, opts: TestRunnerOptions = {}): Promise<MonetRunner> {
  const dtype = opts.dtype ?? "float32";
  const ckpt = await Checkpoint.open(checkpointDir);
  let scratch: string | undefined;
  try {
    let modelPath: string;
    if (opts.attention) {
      scratch = mkdtempSync(join(TEST_CACHE, "..", `runner-${opts.attention}-`));
      await convertToOnnx(ckpt, join(scratch, "m"), {
        fingerprint: "test",
        dtype,
        attention: opts.attention,
      });
      modelPath = join(scratch, "m", MODEL_FILE);
    } else {
      modelPath = (await ensureConverted(ckpt, { cacheDir: TEST_CACHE, dtype })).modelPath;
    }
    const { session } = await openSession(modelPath, { ep: "cpu", profilePrefix: opts.profilePrefix });
    return new MonetRunner(session, ckpt.config, undefined, dtype);
  } finally {
    await ckpt.close();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  }
}
