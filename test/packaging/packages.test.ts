// The platform-specific packages without packing them: native/platforms.json against
// onnxruntime-node's installed runtimes, each target's generated ignore list through vsce's
// own file lister (the files `vsce package --target` would pack), the checker's verdicts on
// wrong packages, the guard against a plain `vsce package`, and the Marketplace metadata.
// The packed .vsix files are checked by scripts/vsix-check.ts as they are made
// (npm run package / package:all).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { listFiles, PackageManager } from "@vscode/vsce";
import { ignoreListFor, nativeFiles, problemsOf, readPlatforms, ROOT } from "../../scripts/platforms";

const m = readPlatforms();
const TARGETS = Object.keys(m.targets);
const BIN = join(ROOT, m.onnxruntimeBin);
const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));

/** vsce stores these under its own names in the .vsix. */
const RENAMED: Record<string, string> = {
  "README.md": "readme.md",
  "CHANGELOG.md": "changelog.md",
  LICENSE: "LICENSE.txt",
};

/** A correct package's files for `target`, as the checker sees them (sizes from the checkout). */
function goodPackage(target: string): Map<string, number | undefined> {
  const files = [
    "package.json",
    "readme.md",
    "changelog.md",
    "LICENSE.txt",
    "dist/extension.js",
    "dist/engine-worker.js",
    "media/heatmap.js",
    "media/heatmap.css",
    "media/icon.png",
    "media/walkthrough/real-model.md",
    "media/walkthrough/completion.md",
    "media/walkthrough/inspect.md",
    "media/walkthrough/mask.md",
    "node_modules/onnxruntime-node/package.json",
    "node_modules/onnxruntime-node/dist/index.js",
    "node_modules/onnxruntime-node/dist/binding.js",
    "node_modules/onnxruntime-common/package.json",
    "node_modules/onnxruntime-common/dist/cjs/index.js",
    ...readdirSync(join(ROOT, "models", "tiny-codemonet")).map((f) => `models/tiny-codemonet/${f}`),
    ...readdirSync(join(ROOT, "models", "atlases")).map((f) => `models/atlases/${f}`),
  ];
  const sized = nativeFiles(m, target).map((f) => [f, statSync(join(ROOT, f)).size] as const);
  return new Map<string, number | undefined>([...files.map((f) => [f, undefined] as const), ...sized]);
}

describe("native/platforms.json", () => {
  it("names every runtime onnxruntime-node ships, with exactly its files (providers downloaded later aside)", () => {
    const shipped = readdirSync(BIN).flatMap((os) =>
      readdirSync(join(BIN, os)).map((arch) => `${os}/${arch}`),
    );
    assert.deepEqual(
      TARGETS.map((t) => m.targets[t]!.folder).sort(),
      shipped.sort(),
      "a runtime folder of onnxruntime-node without a target, or a target without its folder",
    );
    for (const t of TARGETS) {
      const folder = join(BIN, m.targets[t]!.folder);
      const present = readdirSync(folder).filter((f) => !f.startsWith("libonnxruntime_providers_"));
      assert.deepEqual([...m.targets[t]!.files].sort(), present.sort(), `${t}: ${folder}`);
    }
  });

  it("says why there is no darwin-x64 package", () => {
    assert.equal(existsSync(join(BIN, "darwin", "x64")), false);
    assert.match(m.notShipped["darwin-x64"] ?? "", /no darwin\/x64 runtime/);
  });
});

describe("the generated ignore lists, through vsce's file lister", () => {
  const tmp = mkdtempSync(join(tmpdir(), "monet-lens-ignore-"));
  const built = ["dist/extension.js", "dist/engine-worker.js", "media/heatmap.js"].every((f) =>
    existsSync(join(ROOT, f)),
  );

  // Two targets (about 3 s each: vsce asks npm for the dependency tree); npm run package:all
  // packs and checks every one.
  for (const target of ["linux-x64", "win32-arm64"]) {
    it(`${target}: its own onnxruntime files, nothing of the other platforms, the bundles, the model`, {
      skip: !built && "needs the bundles: npm run build",
    }, async () => {
      const ignoreFile = join(tmp, `${target}.vscodeignore`);
      writeFileSync(ignoreFile, ignoreListFor(m, target));
      const files = await listFiles({ cwd: ROOT, ignoreFile, packageManager: PackageManager.Npm });
      const entries = new Map<string, number | undefined>(
        files.map((f) => [RENAMED[f] ?? f, statSync(join(ROOT, f)).size]),
      );
      assert.deepEqual(problemsOf(m, target, entries), []);
      const native = files.filter((f) => f.startsWith(m.onnxruntimeBin)).sort();
      assert.deepEqual(native, nativeFiles(m, target).sort());
    });
  }

  it("(cleanup)", () => rmSync(tmp, { recursive: true, force: true }));
});

describe("the package checker", () => {
  it("passes a correct package of every target", () => {
    for (const t of TARGETS) assert.deepEqual(problemsOf(m, t, goodPackage(t)), [], t);
  });

  it("names another platform's runtime, a missing binding, a wrong size, sources and stray libraries", () => {
    const bad = goodPackage("linux-x64");
    bad.set("node_modules/onnxruntime-node/bin/napi-v6/win32/x64/onnxruntime.dll", 1);
    bad.delete("node_modules/onnxruntime-node/bin/napi-v6/linux/x64/onnxruntime_binding.node");
    bad.set("node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1", 12);
    bad.set("node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime_providers_cuda.so", 1);
    bad.set("src/extension.ts", 1);
    bad.set("dist/extension.js.map", 1);
    bad.set("node_modules/other/prebuilt.node", 1);
    bad.delete("models/tiny-codemonet/tokenizer.model");
    const problems = problemsOf(m, "linux-x64", bad).join("\n");
    for (const expected of [
      /missing node_modules\/onnxruntime-node\/bin\/napi-v6\/linux\/x64\/onnxruntime_binding\.node/,
      /missing models\/tiny-codemonet\/tokenizer\.model/,
      /another platform's file: .*win32\/x64\/onnxruntime\.dll/,
      /libonnxruntime\.so\.1 is 12 bytes; onnxruntime-node's is \d+/,
      /not a linux-x64 file: .*libonnxruntime_providers_cuda\.so/,
      /must not be packed: src\/extension\.ts/,
      /must not be packed: dist\/extension\.js\.map/,
      /a native library outside onnxruntime-node's linux-x64 folder: node_modules\/other\/prebuilt\.node/,
    ])
      assert.match(problems, expected);
  });

  it("refuses a target that has no package, saying why", () => {
    assert.throws(
      () => nativeFiles(m, "darwin-x64"),
      /no package for target darwin-x64 \(onnxruntime-node 1\.30/,
    );
  });
});

describe("packing", () => {
  it("a plain `vsce package` is refused by the prepublish step (it would carry no native runtime)", () => {
    const env = { ...process.env };
    delete env.MONET_LENS_VSIX_TARGET;
    const r = spawnSync(process.execPath, ["--import", "tsx", "scripts/package.ts", "--prepublish-check"], {
      cwd: ROOT,
      encoding: "utf8",
      env,
    });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /pack with `npm run package` \(linux-x64\) or `npm run package:all`/);
    assert.match(pkg.scripts["vscode:prepublish"], /scripts\/package\.ts --prepublish-check/);
  });

  it('has no package.json "files" (vsce refuses it beside an ignore list; .npmignore lists the npm package)', () => {
    assert.equal(pkg.files, undefined);
    assert.match(readFileSync(join(ROOT, ".npmignore"), "utf8"), /^\/\*$/m);
  });
});

describe("Marketplace and Open VSX metadata", () => {
  it("an icon: a PNG of at least 128×128", () => {
    const png = readFileSync(join(ROOT, pkg.icon));
    assert.equal(png.subarray(1, 4).toString("latin1"), "PNG");
    const [w, h] = [png.readUInt32BE(16), png.readUInt32BE(20)];
    assert.ok(w >= 128 && h >= 128 && w === h, `${w}×${h}`);
  });

  it("runs on the workspace side (VS Code Remote: where the model and the GPU are)", () => {
    assert.deepEqual(pkg.extensionKind, ["workspace"]);
  });

  it("categories, keywords, gallery banner, MIT licence text, changelog; no placeholder repository", () => {
    assert.ok(pkg.categories.length > 0 && pkg.keywords.length > 0 && pkg.keywords.length <= 30);
    assert.match(pkg.galleryBanner.color, /^#[0-9a-f]{6}$/i);
    assert.ok(["dark", "light"].includes(pkg.galleryBanner.theme));
    assert.equal(pkg.license, "MIT");
    assert.match(
      readFileSync(join(ROOT, "LICENSE"), "utf8"),
      /^MIT License\n\nCopyright \(c\) \d{4} The Monet Lens authors/,
    );
    assert.match(
      readFileSync(join(ROOT, "CHANGELOG.md"), "utf8"),
      new RegExp(`## ${pkg.version.replace(/\./g, "\\.")}`),
    );
    // No public repository yet: none rather than a made-up URL (packed with --allow-missing-repository).
    assert.equal(pkg.repository, undefined);
  });

  it("the npm package: a bin, its Node engine, one runtime dependency (the rest is bundled)", () => {
    assert.deepEqual(pkg.bin, { "monet-lens": "./dist/cli.js" });
    assert.equal(pkg.engines.node, ">=20");
    assert.deepEqual(Object.keys(pkg.dependencies), ["onnxruntime-node"]);
  });
});
