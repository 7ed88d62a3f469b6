// The Hugging Face environment variables, read as Python's huggingface_hub reads them.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { hubCacheDir, hubEndpoint, hubOffline, hubToken } from "../../src/hub/environment";
import { repoCache, repoFolderName } from "../../src/hub/cache-layout";

const tmp = mkdtempSync(join(tmpdir(), "monet-hub-env-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

describe("Hugging Face environment", () => {
  it("cache folder: HF_HUB_CACHE, else HUGGINGFACE_HUB_CACHE, else HF_HOME/hub, else XDG/~/.cache", () => {
    assert.equal(hubCacheDir({ HF_HUB_CACHE: "/a", HUGGINGFACE_HUB_CACHE: "/b", HF_HOME: "/c" }), "/a");
    assert.equal(hubCacheDir({ HUGGINGFACE_HUB_CACHE: "/b", HF_HOME: "/c" }), "/b");
    assert.equal(hubCacheDir({ HF_HOME: "/c", XDG_CACHE_HOME: "/x" }), "/c/hub");
    assert.equal(hubCacheDir({ XDG_CACHE_HOME: "/x" }), "/x/huggingface/hub");
    assert.equal(hubCacheDir({}), join(homedir(), ".cache", "huggingface", "hub"));
  });

  it("endpoint, offline switch and token", () => {
    assert.equal(hubEndpoint({}), "https://huggingface.co");
    assert.equal(hubEndpoint({ HF_ENDPOINT: "https://mirror.example/" }), "https://mirror.example");
    for (const v of ["1", "ON", "yes", "True"]) assert.equal(hubOffline({ HF_HUB_OFFLINE: v }), true, v);
    for (const v of ["0", "", "no"]) assert.equal(hubOffline({ HF_HUB_OFFLINE: v }), false, v);
    const file = join(tmp, "token");
    writeFileSync(file, "hf_fromfile\n");
    assert.equal(hubToken({ HF_TOKEN: "hf_env", HF_TOKEN_PATH: file }), "hf_env");
    assert.equal(hubToken({ HUGGING_FACE_HUB_TOKEN: "hf_old", HF_TOKEN_PATH: file }), "hf_old");
    assert.equal(hubToken({ HF_TOKEN_PATH: file }), "hf_fromfile");
    assert.equal(hubToken({ HF_HOME: tmp }), "hf_fromfile", "HF_HOME/token, as huggingface-cli login writes");
    assert.equal(hubToken({ HF_TOKEN_PATH: join(tmp, "none") }), undefined);
  });

  it("repo folders and paths as Python names them", () => {
    assert.equal(
      repoFolderName("MonetLLM/codemonet-vd-1.4B-100BT-hf"),
      "models--MonetLLM--codemonet-vd-1.4B-100BT-hf",
    );
    const c = repoCache("/hf", "a/b");
    assert.equal(c.blob("x"), "/hf/models--a--b/blobs/x");
    assert.equal(c.incomplete("x"), "/hf/models--a--b/blobs/x.incomplete");
    assert.equal(c.snapshot("c"), "/hf/models--a--b/snapshots/c");
    assert.equal(c.ref("refs/pr/1"), "/hf/models--a--b/refs/refs/pr/1");
  });
});
