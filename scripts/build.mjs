// Bundles the extension host code, the command-line tool and the webview with esbuild.
// onnxruntime-node stays external: it is a native addon loaded from node_modules at run time.
import * as esbuild from "esbuild";

const watch = process.argv.includes("--watch");
const common = { bundle: true, sourcemap: true, logLevel: "info", target: "node20" };

const targets = [
  {
    ...common,
    platform: "node",
    format: "cjs",
    entryPoints: ["src/extension/activate.ts"],
    outfile: "dist/extension.js",
    external: ["vscode", "onnxruntime-node"],
  },
  {
    ...common,
    platform: "node",
    format: "cjs",
    entryPoints: ["src/cli/main.ts"],
    outfile: "dist/cli.js",
    external: ["onnxruntime-node"],
    banner: { js: "#!/usr/bin/env node" },
  },
  {
    ...common,
    platform: "node",
    format: "cjs",
    entryPoints: ["src/engine/worker.ts"],
    outfile: "dist/engine-worker.js",
    external: ["onnxruntime-node"],
  },
  {
    // The GPU check (scripts/gpu-check.sh): run on GPU machines from a bare checkout, never shipped.
    ...common,
    platform: "node",
    format: "cjs",
    entryPoints: ["src/bench/gpu-check/main.ts"],
    outfile: "dist/gpu-check.js",
    external: ["onnxruntime-node"],
  },
  {
    ...common,
    platform: "browser",
    format: "iife",
    target: "es2022",
    minify: true,
    entryPoints: ["webview/main.ts"],
    outfile: "media/heatmap.js",
  },
];

for (const t of targets) {
  try {
    await import("node:fs").then((fs) => fs.accessSync(t.entryPoints[0]));
  } catch {
    continue;
  }
  if (watch) await (await esbuild.context(t)).watch();
  else await esbuild.build(t);
}
