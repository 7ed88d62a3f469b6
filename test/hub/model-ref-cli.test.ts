// `--model` takes a Hugging Face repo id: the CLI resolves it from the cache with no network
// (HF_HUB_OFFLINE=1 and an endpoint that answers nothing), for generate, info and tokenize,
// and a model that is not in the cache is an error that says how to fetch it.
import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { DEMO_MODEL, TEST_CACHE } from "../helpers/fixtures";
import { scratchDirs } from "../reliability/helpers";
import { pull } from "../../src/hub/pull";
import { repoFromFolder, startFakeHub, type FakeRepo } from "./fake-hub";

const CLI = join(process.cwd(), "dist", "cli.js");
const REPO = "MonetLLM/tiny-codemonet-test";
const dirs = scratchDirs("hub-ref-");
let cacheDir: string;
let repo: FakeRepo;

before(async () => {
  cacheDir = dirs.fresh("cache");
  repo = repoFromFolder(REPO, DEMO_MODEL);
  const hub = await startFakeHub([repo]);
  try {
    await pull(REPO, { cacheDir, endpoint: hub.url, token: undefined, offline: false });
  } finally {
    await hub.close();
  }
});

function cli(args: string[]) {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HF_HUB_CACHE: cacheDir,
    HF_HUB_OFFLINE: "1",
    HF_ENDPOINT: "http://127.0.0.1:9", // nothing listens: any request would fail
    MONET_LENS_CACHE: TEST_CACHE,
  };
  const r = spawnSync(process.execPath, [CLI, ...args], { env, encoding: "utf8", timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("--model REPO from the Hugging Face cache, offline", () => {
  it("generate runs the cached snapshot, the same completion as from the folder", () => {
    const prompt = "def add(a, b):\n    ";
    const fromRepo = cli(["generate", "--model", REPO, "--prompt", prompt, "--max-tokens", "8", "--json"]);
    assert.equal(fromRepo.status, 0, fromRepo.stderr);
    const fromFolder = cli([
      "generate",
      "--model",
      DEMO_MODEL,
      "--prompt",
      prompt,
      "--max-tokens",
      "8",
      "--json",
    ]);
    assert.equal(fromFolder.status, 0, fromFolder.stderr);
    assert.deepEqual(JSON.parse(fromRepo.stdout).ids, JSON.parse(fromFolder.stdout).ids);
  });

  it("info and tokenize take org/name@commit", () => {
    const info = cli(["info", "--model", `${REPO}@${repo.commit}`, "--json"]);
    assert.equal(info.status, 0, info.stderr);
    const j = JSON.parse(info.stdout);
    assert.equal(j.model, join(cacheDir, "models--MonetLLM--tiny-codemonet-test", "snapshots", repo.commit));
    assert.equal(j.valid, true);
    const tok = cli(["tokenize", "--model", REPO, "--text", "def", "--json"]);
    assert.equal(tok.status, 0, tok.stderr);
    assert.ok(JSON.parse(tok.stdout).ids.length >= 2);
  });

  it("a model that is not in the cache: exit 1, naming the cache and the command that fetches it", () => {
    const r = cli(["generate", "--model", "MonetLLM/monet-vd-850M-100BT-hf", "--prompt", "x"]);
    assert.equal(r.status, 1);
    assert.match(
      r.stderr,
      /MonetLLM\/monet-vd-850M-100BT-hf is not in the Hugging Face cache \(.*models--MonetLLM--monet-vd-850M-100BT-hf\): fetch it with `monet-lens pull MonetLLM\/monet-vd-850M-100BT-hf` \(with the network: unset HF_HUB_OFFLINE first\)/,
    );
    const rev = cli(["info", "--model", `${REPO}@v2`]);
    assert.equal(rev.status, 1);
    assert.match(
      rev.stderr,
      /tiny-codemonet-test@v2 is not in the Hugging Face cache.*monet-lens pull MonetLLM\/tiny-codemonet-test@v2/,
    );
  });

  it("--help says it takes a repo id", () => {
    const r = cli(["generate", "--help"]);
    assert.match(r.stdout, /--model DIR\|REPO/);
    assert.match(r.stdout, /Hugging Face model id/);
  });
});
