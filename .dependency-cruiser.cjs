// The import rules of the source tree, checked by `npm test` (npm run deps): data flows one
// way, checkpoint → graph → engine → features → UI, with no cycles; the webview page sees
// only what it shares with the extension; only src/extension/ talks to VS Code; and the
// extension host never loads onnxruntime (the engine process does; .dependency-cruiser-runtime.cjs
// checks that over run-time imports, which is what the bundle holds).
// `npm run deps:graph` draws the folders' imports into docs/import-graph.svg (graphviz's dot).

/** Folders from the bottom layer up; a folder may import its own layer and those below. */
const LAYERS = [
  ["files", "checkpoint", "tokenizer", "onnx", "heatmap-shared"],
  ["model", "hub"],
  ["engine"],
  ["atlas", "completion"],
  ["heatmap"],
  ["app"],
  ["extension", "cli", "bench"],
];

const folders = (names) => `^src/(${names.join("|")})/`;

const upward = LAYERS.slice(0, -1).map((layer, i) => ({
  name: `no-import-up-from-${layer.join("-")}`,
  comment: `${layer.join(", ")} may not import from the layers above (${LAYERS.slice(i + 1).flat().join(", ")})`,
  severity: "error",
  from: { path: folders(layer) },
  to: { path: folders(LAYERS.slice(i + 1).flat()) },
}));

module.exports = {
  forbidden: [
    {
      name: "no-circular",
      comment: "imports form no cycle",
      severity: "error",
      from: {},
      to: { circular: true },
    },
    ...upward,
    {
      name: "heatmap-shared-stands-alone",
      comment: "what the page shares with the extension imports nothing else of the project",
      severity: "error",
      from: { path: "^src/heatmap-shared/" },
      to: { path: "^src/", pathNot: "^src/heatmap-shared/" },
    },
    {
      name: "webview-sees-only-heatmap-shared",
      comment: "the page imports its own modules and src/heatmap-shared only: nothing Node-only reaches it",
      severity: "error",
      from: { path: "^webview/" },
      to: { path: "^src/", pathNot: "^src/heatmap-shared/" },
    },
    {
      name: "webview-no-node",
      comment: "the page uses no Node module",
      severity: "error",
      from: { path: "^webview/|^src/heatmap-shared/" },
      to: { dependencyTypes: ["core"] },
    },
    {
      name: "vscode-only-in-src-extension",
      comment: "only src/extension/ imports the VS Code API",
      severity: "error",
      from: { path: "^src/", pathNot: "^src/extension/" },
      to: { path: "^vscode$|@types/vscode" },
    },
    {
      name: "src-not-from-test",
      comment: "the product does not import test code",
      severity: "error",
      from: { path: "^(src|webview)/" },
      to: { path: "^test/" },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
  },
};
