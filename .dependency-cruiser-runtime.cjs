// The run-time imports only (type-only imports are erased from the bundles): the extension
// host (src/extension/activate.ts and what it loads) never loads onnxruntime, which runs in
// the engine process. The other rules hold here too, as the main configuration's.
module.exports = {
  extends: "./.dependency-cruiser.cjs",
  forbidden: [
    {
      name: "no-onnxruntime-in-the-extension-host",
      comment: "the extension host never loads onnxruntime: the engine process does",
      severity: "error",
      from: { path: "^src/extension/activate\\.ts$" },
      to: { path: "onnxruntime", reachable: true },
    },
  ],
  options: { tsPreCompilationDeps: false },
};
