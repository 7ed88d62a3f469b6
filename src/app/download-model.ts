// `Monet Lens: Download Model…`: a QuickPick of the published Monet family (CodeMonet 1.4B
// first: the one trained on code) or any repo id, the download into the Hugging Face cache
// with a cancellable progress notification (bytes, speed, time left), then the offer to run
// it. The download is src/hub's pull, the same as `monet-lens pull`: resumable, checksummed,
// HF_ENDPOINT / HF_TOKEN / HF_HUB_CACHE / HF_HUB_OFFLINE honoured.
import { HubError } from "../hub/errors";
import { hubCacheDir } from "../hub/environment";
import { PUBLISHED_MODELS } from "../hub/published-models";
import { progressPercent, progressSummary } from "../hub/progress-text";
import { formatBytes, pull, type PullResult } from "../hub/pull";
import { formatRepoRef, isRepoRef, parseRepoRef } from "../hub/repo-ref";
import { resolveModelRef } from "../hub/resolve";
import type { Ctx } from "./ctx";
import { switchToModel, validateModelFolder } from "./model-switch";
import type { PickItem } from "./ui";

interface ModelPick extends PickItem {
  /** undefined: the "another repository" entry. */
  repo: string | undefined;
}

export const OTHER_MODEL_LABEL = "$(edit) Another Model on the Hub…";
export const USE_IT = "Use It Now";

/**
 * The command. `preset` (a repo id, e.g. from the "Download Model" button of a missing-model
 * error or from a walkthrough link) skips the QuickPick; it comes from outside, so it is checked.
 */
export async function downloadModel(ctx: Ctx, preset?: unknown): Promise<PullResult | undefined> {
  const ref =
    typeof preset === "string" && isRepoRef(preset) ? formatRepoRef(parseRepoRef(preset)) : await pick(ctx);
  if (!ref) return undefined;
  const name = PUBLISHED_MODELS.find((m) => m.repo === ref)?.label ?? ref;
  ctx.log.info(`downloading ${ref} into ${hubCacheDir()}`);
  let result: PullResult;
  try {
    result = await ctx.ui.withProgress(`Monet Lens: downloading ${name}`, (report, signal) => {
      let last = 0;
      let lastFile: string | undefined;
      return pull(ref, {
        signal,
        log: (line) => ctx.log.info(`download: ${line}`),
        onProgress: (p) => {
          if (p.fileCount === 0) return;
          if (p.file && p.file !== lastFile) {
            lastFile = p.file;
            ctx.log.info(`download: ${p.fileIndex}/${p.fileCount} ${p.file}`);
          }
          const pct = progressPercent(p);
          report(
            `${progressSummary(p)}${p.file ? ` (file ${p.fileIndex} of ${p.fileCount})` : ""}`,
            pct - last,
          );
          last = pct;
        },
      });
    });
  } catch (e) {
    if (e instanceof HubError && e.kind === "cancelled") {
      ctx.log.info(`download of ${ref} cancelled; what was fetched is kept`);
      await ctx.ui.info(
        `Monet Lens: download of ${name} cancelled. What was fetched is kept: Download Model… again resumes it.`,
      );
      return undefined;
    }
    ctx.log.error(`download of ${ref} failed: ${(e as Error).message}`);
    await ctx.ui.error(`Monet Lens: downloading ${name} failed: ${(e as Error).message}`);
    return undefined;
  }
  const fetched = result.files.filter((f) => f.downloaded).length;
  ctx.log.info(
    `downloaded ${ref} (commit ${result.commit}) to ${result.dir}: ${result.files.length} files, ` +
      `${fetched} fetched (${formatBytes(result.bytesFetched)}), ${result.files.length - fetched} already in the cache`,
  );
  await offerToUse(ctx, ref, name, result);
  return result;
}

/** Checks the downloaded model and offers to run it (monetLens.modelPath becomes the repo id). */
async function offerToUse(ctx: Ctx, ref: string, name: string, result: PullResult): Promise<void> {
  let description: string;
  try {
    description = await validateModelFolder(result.dir);
  } catch (e) {
    ctx.log.error(`downloaded ${ref} cannot be run: ${(e as Error).message}`);
    await ctx.ui.error(`Monet Lens: ${name} was downloaded but cannot be run: ${(e as Error).message}`);
    return;
  }
  const size = formatBytes(result.files.reduce((s, f) => s + f.size, 0));
  if (ctx.config.modelPath === ref) {
    // The setting already names it (e.g. it failed as missing): load it now.
    await switchToModel(ctx, ref, description);
    return;
  }
  const choice = await ctx.ui.info(
    `Monet Lens: ${name} is downloaded (${description}, ${size} in the Hugging Face cache). ` +
      `Use it for completions? The first start converts it to ONNX once.`,
    USE_IT,
  );
  if (choice === USE_IT) await switchToModel(ctx, ref, description);
}

async function pick(ctx: Ctx): Promise<string | undefined> {
  const items: ModelPick[] = [
    ...PUBLISHED_MODELS.map((m) => ({
      repo: m.repo,
      label: `${m.recommended ? "$(star-full) " : ""}${m.label}`,
      description: [
        m.size,
        m.recommended ? "recommended for code" : undefined,
        inCache(m.repo) ? "downloaded" : undefined,
        ctx.config.modelPath === m.repo ? "in use" : undefined,
      ]
        .filter(Boolean)
        .join(" · "),
      detail: `${m.repo}: ${m.detail}`,
    })),
    { repo: undefined, label: OTHER_MODEL_LABEL, detail: "a repo id: org/name or org/name@revision" },
  ];
  const chosen = await ctx.ui.pickOne(items, {
    title: "Download a Monet model from the Hugging Face Hub",
    placeholder: "CodeMonet 1.4B is the one trained on code; sizes are download sizes",
  });
  if (!chosen) return undefined;
  if (chosen.repo) return chosen.repo;
  const typed = await ctx.ui.input({
    title: "Download a model from the Hugging Face Hub",
    placeholder: "org/name or org/name@revision, e.g. MonetLLM/codemonet-vd-1.4B-100BT-hf",
    validate: (v) => (isRepoRef(v.trim()) ? undefined : "expected org/name or org/name@revision"),
  });
  return typed === undefined ? undefined : formatRepoRef(parseRepoRef(typed.trim()));
}

/** Whether a complete snapshot of `repo` is in the cache (no network). */
function inCache(repo: string): boolean {
  try {
    resolveModelRef(repo);
    return true;
  } catch {
    return false;
  }
}
