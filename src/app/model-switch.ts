// Checking a model and switching the running engine to it, with the conversion's progress:
// what Select Model Folder… and Download Model… share.
import { basename } from "node:path";
import { CancelledError } from "../engine/errors";
import { openModelFolder } from "../engine/model-folder";
import type { Ctx } from "./ctx";

/** Checks that `dir` is a CodeMonet checkpoint with its tokenizer; returns a one-line description. */
export async function validateModelFolder(dir: string): Promise<string> {
  const { checkpoint: ckpt } = await openModelFolder(dir);
  try {
    const c = ckpt.config;
    const params = ckpt.parameterCount();
    return (
      `CodeMonet-${c.moeDecompose === "vertical" ? "VD" : "HD"}, ` +
      `${(params / 1e6).toFixed(0)}M parameters, ${c.numLayers} layers`
    );
  } finally {
    await ckpt.close();
  }
}

/**
 * Loads `model` (a folder, or a repo id in the Hugging Face cache) in a new engine, converting
 * it with a cancellable progress notification, switches to it once it runs and saves it as
 * monetLens.modelPath. Failure or cancellation is said and leaves the current model running
 * (`failed`, when given, says a failure instead: Select Model Folder… offers Choose Again).
 * Returns whether the switch happened.
 */
export async function switchToModel(
  ctx: Ctx,
  model: string,
  description: string,
  opts: { failed?: (message: string) => Promise<void> } = {},
): Promise<boolean> {
  const name = basename(model);
  try {
    const info = await ctx.ui.withProgress(
      `Monet Lens: loading ${name} (${description})`,
      (report, signal) => {
        let last = 0;
        return ctx.host.switchModel(model, {
          signal,
          onProgress: (done, total, what) => {
            const pct = Math.floor((100 * done) / Math.max(1, total));
            report(`converting to ONNX: ${what}`, pct - last);
            last = pct;
          },
        });
      },
    );
    ctx.controller.reset();
    await ctx.ui.updateSetting("modelPath", model);
    await ctx.ui.info(`Monet Lens: running ${name} on ${info.ep}.`);
    return true;
  } catch (e) {
    if (e instanceof CancelledError) {
      await ctx.ui.info("Monet Lens: cancelled; the model was not changed.");
      return false;
    }
    ctx.log.error(`loading ${model} failed: ${(e as Error).message}`);
    if (opts.failed)
      await opts.failed(`Monet Lens: the model could not be loaded: ${(e as Error).message} (${model})`);
    else await ctx.ui.error(`Monet Lens: loading ${model} failed: ${(e as Error).message}`);
    return false;
  }
}
