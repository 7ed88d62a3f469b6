// `monet-lens pull [REPO] [--revision REV] [--json]`: fetch a published model into the Hugging
// Face cache. A bar on a terminal, a line per file (and per 10 %) otherwise; Ctrl-C stops at
// once and keeps what was fetched, so running it again resumes.
import { formatBytes, pull, type PullProgress } from "../hub/pull";
import { progressSummary } from "../hub/progress-text";
import { DEFAULT_MODEL_REPO, PUBLISHED_MODELS } from "../hub/published-models";
import { command } from "./command";

export const pullCommand = command({
  name: "pull",
  summary: "fetch a model from the Hugging Face Hub into the Hugging Face cache",
  positional: {
    name: "REPO",
    help: `org/name or org/name@revision (default ${DEFAULT_MODEL_REPO})`,
  },
  options: {
    revision: { type: "string", value: "REV", help: "branch, tag or commit (default main)" },
    json: { type: "boolean", help: 'print {"repo", "revision", "commit", "dir", "files", "bytesFetched"}' },
  },
  notes:
    "The cache is HF_HUB_CACHE, else HF_HOME/hub, else ~/.cache/huggingface/hub, where huggingface-cli " +
    "and transformers find it too. Only config.json, the safetensors weights and index, tokenizer.model " +
    "and the tokenizer and generation JSON files are fetched. Ctrl-C stops; the same command resumes. " +
    "Environment: HF_ENDPOINT (a mirror), HF_TOKEN (gated or private repos), HF_HUB_OFFLINE=1 (check the " +
    "cache only). Published models: " +
    PUBLISHED_MODELS.map(
      (m) => `${m.repo} (${m.parameters}, ${m.size}${m.recommended ? ", recommended for code" : ""})`,
    ).join("; ") +
    ".",
  async run(values, positional) {
    const repo = positional ?? DEFAULT_MODEL_REPO;
    const abort = new AbortController();
    const onSigint = () => abort.abort();
    process.once("SIGINT", onSigint);
    const view = process.stderr.isTTY ? barView() : lineView();
    try {
      const r = await pull(repo, {
        revision: values.revision,
        signal: abort.signal,
        onProgress: view.update,
        log: (line) => view.note(line),
      });
      view.end();
      if (values.json) {
        console.log(JSON.stringify(r, null, 2));
        return;
      }
      const fetched = r.files.filter((f) => f.downloaded).length;
      console.log(
        `${r.repo}@${r.commit.slice(0, 12)}: ${r.dir}\n  ${r.files.length} files, ${fetched} fetched ` +
          `(${formatBytes(r.bytesFetched)}), ${r.files.length - fetched} already in the cache`,
      );
    } catch (e) {
      view.end();
      throw e;
    } finally {
      process.off("SIGINT", onSigint);
    }
  },
});

/** One redrawn line: file n/m, a bar, bytes, speed, time left. */
function barView() {
  let drawn = false;
  return {
    update(p: PullProgress) {
      if (p.fileCount === 0) return;
      const width = 24;
      const frac = p.bytesTotal > 0 ? p.bytesDone / p.bytesTotal : 1;
      const bar = "█".repeat(Math.round(frac * width)).padEnd(width, "░");
      const name = p.file ? ` ${p.fileIndex}/${p.fileCount} ${p.file}` : "";
      process.stderr.write(
        `\r\x1b[2K${bar} ${(100 * frac).toFixed(0).padStart(3)}% ${progressSummary(p)}${name}`,
      );
      drawn = true;
    },
    note(line: string) {
      process.stderr.write(`${drawn ? "\r\x1b[2K" : ""}${line}\n`);
    },
    end() {
      if (drawn) process.stderr.write("\n");
      drawn = false;
    },
  };
}

/** Plain lines for logs and pipes: each file, and every 10 % of the total. */
function lineView() {
  let lastFile: string | undefined;
  let lastTenth = -1;
  return {
    update(p: PullProgress) {
      if (p.file && p.file !== lastFile) {
        lastFile = p.file;
        process.stderr.write(`fetching ${p.fileIndex}/${p.fileCount} ${p.file}\n`);
      }
      const tenth = p.bytesTotal > 0 ? Math.floor((10 * p.bytesDone) / p.bytesTotal) : 10;
      if (tenth !== lastTenth && p.fileCount > 0) {
        lastTenth = tenth;
        process.stderr.write(`  ${tenth * 10}%: ${progressSummary(p)}\n`);
      }
    },
    note(line: string) {
      process.stderr.write(`${line}\n`);
    },
    end() {},
  };
}
