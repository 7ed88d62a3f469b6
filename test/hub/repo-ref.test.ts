// Model references: repo ids with an optional revision, and folder paths that stay folders.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { looksLikeRepoRef, parseRepoRef } from "../../src/hub/repo-ref";
import { resolveModelRef } from "../../src/hub/resolve";
import { DEMO_MODEL } from "../helpers/fixtures";
import { PUBLISHED_MODELS, DEFAULT_MODEL_REPO } from "../../src/hub/published-models";
import { isWantedFile } from "../../src/hub/wanted-files";

describe("repo references", () => {
  it("parses org/name and org/name@revision", () => {
    assert.deepEqual(parseRepoRef("MonetLLM/codemonet-vd-1.4B-100BT-hf"), {
      repo: "MonetLLM/codemonet-vd-1.4B-100BT-hf",
      revision: "main",
    });
    assert.deepEqual(parseRepoRef("org/name@refs/pr/1"), { repo: "org/name", revision: "refs/pr/1" });
    assert.deepEqual(parseRepoRef(`a/b@${"c".repeat(40)}`), { repo: "a/b", revision: "c".repeat(40) });
  });

  it("rejects what is not a repo id, saying the expected form", () => {
    for (const bad of ["name", "a/b/c", "a//b", "-a/b", "a/b@", "a/b@../x", "a--x/b", "a/b c"])
      assert.throws(() => parseRepoRef(bad), /expected org\/name or org\/name@revision/, bad);
  });

  it("a folder path stays a folder path", () => {
    assert.equal(looksLikeRepoRef(DEMO_MODEL), false);
    assert.equal(looksLikeRepoRef("./models/x"), false);
    assert.equal(looksLikeRepoRef("models/tiny-codemonet"), false, "exists relative to the cwd");
    assert.equal(looksLikeRepoRef("MonetLLM/codemonet-vd-1.4B-100BT-hf"), true);
    assert.equal(resolveModelRef(DEMO_MODEL).dir, DEMO_MODEL);
    assert.equal(resolveModelRef(DEMO_MODEL).hub, undefined);
  });

  it("the published family: CodeMonet 1.4B first and recommended, no invented sizes", () => {
    assert.equal(PUBLISHED_MODELS[0]!.repo, "MonetLLM/codemonet-vd-1.4B-100BT-hf");
    assert.equal(DEFAULT_MODEL_REPO, PUBLISHED_MODELS[0]!.repo);
    assert.deepEqual(
      PUBLISHED_MODELS.filter((m) => m.recommended).map((m) => m.repo),
      [DEFAULT_MODEL_REPO],
    );
    for (const m of PUBLISHED_MODELS) {
      parseRepoRef(m.repo);
      assert.match(m.size, /^(\d+\.\d+ GB|size unknown)$/);
    }
  });

  it("fetches only what the project reads", () => {
    for (const f of [
      "config.json",
      "model.safetensors",
      "model-00001-of-00002.safetensors",
      "tokenizer.model",
    ])
      assert.ok(isWantedFile(f), f);
    for (const f of [
      "modeling_monet.py",
      "interpretation/routings-0.pkl",
      "README.md",
      "tokenizer.json",
      "sub/model.safetensors",
      "pytorch_model.bin",
    ])
      assert.ok(!isWantedFile(f), f);
  });
});
