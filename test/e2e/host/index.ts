// Integration tests that run inside the real extension host (code-server opened with the
// `extensionTestsPath` payload, test/e2e/run.ts): what a UI driver cannot see. The
// extension under test is the one installed from the .vsix (extensionDevelopmentPath).
// Results go to the JSON file named by $MONET_LENS_E2E_HOST_RESULTS, which the driver reads.
import * as vscode from "vscode";
import assert from "node:assert/strict";
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DEFAULTS, SECTION } from "../../../src/app/config";

const EXTENSION_ID = "monet-lens.monet-lens";

interface Result {
  name: string;
  ok: boolean;
  ms: number;
  error?: string;
}

function extension(): vscode.Extension<unknown> {
  const ext = vscode.extensions.getExtension(EXTENSION_ID);
  assert.ok(ext, `${EXTENSION_ID} is not installed in this extension host`);
  return ext;
}

function packageJson(): {
  contributes: {
    commands: Array<{ command: string }>;
    configuration: { properties: Record<string, { default: unknown }> };
  };
} {
  return JSON.parse(readFileSync(join(extension().extensionPath, "package.json"), "utf8"));
}

/** Child processes of this extension host running the bundled engine (dist/engine-worker.js). */
function engineProcesses(): number[] {
  const found: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid !== process.pid) continue;
      if (readFileSync(`/proc/${name}/cmdline`, "utf8").includes("engine-worker.js"))
        found.push(Number(name));
    } catch {
      // the process ended meanwhile
    }
  }
  return found;
}

async function waitFor<T>(what: string, f: () => T | undefined | false, timeoutMs: number): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = f();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const tests: Array<[string, () => Promise<void>]> = [
  [
    "the extension installed from the .vsix activates",
    async () => {
      const ext = extension();
      await ext.activate();
      assert.equal(ext.isActive, true);
      assert.equal((ext.packageJSON as { main: string }).main, "./dist/extension.js");
    },
  ],
  [
    "every contributed command is registered",
    async () => {
      const registered = new Set(await vscode.commands.getCommands(true));
      const contributed = packageJson().contributes.commands.map((c) => c.command);
      assert.ok(contributed.length >= 12, `only ${contributed.length} commands contributed`);
      assert.deepEqual(
        contributed.filter((c) => !registered.has(c)),
        [],
        "contributed but not registered",
      );
    },
  ],
  [
    "configuration defaults in the editor are the extension's own defaults",
    async () => {
      const config = vscode.workspace.getConfiguration(SECTION);
      const keys = Object.keys(DEFAULTS) as Array<keyof typeof DEFAULTS>;
      const declared = Object.keys(packageJson().contributes.configuration.properties).map((k) =>
        k.slice(SECTION.length + 1),
      );
      assert.deepEqual(
        [...declared].sort(),
        [...keys].sort(),
        "package.json's settings and config.ts's DEFAULTS differ",
      );
      for (const key of keys)
        assert.deepEqual(config.inspect(key)?.defaultValue, DEFAULTS[key], `default of ${SECTION}.${key}`);
      // The user settings the driver wrote are seen (the suite's greedy, bounded completions).
      assert.equal(config.get("temperature"), 0);
      assert.equal(config.get("maxTokens"), 16);
    },
  ],
  [
    "deactivate ends the engine process",
    async () => {
      const ext = extension();
      const doc = await vscode.workspace.openTextDocument({
        language: "python",
        content: "def add(a, b):\n    ",
      });
      const editor = await vscode.window.showTextDocument(doc);
      editor.selection = new vscode.Selection(doc.lineAt(1).range.end, doc.lineAt(1).range.end);
      await vscode.commands.executeCommand("monetLens.triggerCompletion");
      const pids = await waitFor(
        "the engine process",
        () => engineProcesses().length > 0 && engineProcesses(),
        60_000,
      );
      // The host loaded the bundle with Node's require: this is the same module instance.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const mod = require(join(ext.extensionPath, "dist", "extension.js")) as { deactivate(): Promise<void> };
      await mod.deactivate();
      await waitFor(
        `engine process ${pids.join(", ")} to exit`,
        () => pids.every((p) => !isAlive(p)),
        10_000,
      );
    },
  ],
];

function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return !/^\S+ \(.*\) Z/.test(stat); // a zombie has ended
  } catch {
    return false;
  }
}

export async function run(): Promise<void> {
  const out = process.env.MONET_LENS_E2E_HOST_RESULTS;
  const results: Result[] = [];
  for (const [name, f] of tests) {
    const t0 = Date.now();
    try {
      await f();
      results.push({ name, ok: true, ms: Date.now() - t0 });
    } catch (e) {
      results.push({
        name,
        ok: false,
        ms: Date.now() - t0,
        error: e instanceof Error ? (e.stack ?? e.message) : String(e),
      });
    }
  }
  if (out) writeFileSync(out, JSON.stringify(results, null, 2));
  const failed = results.filter((r) => !r.ok);
  if (failed.length)
    throw new Error(`${failed.length} in-host test(s) failed: ${failed.map((r) => r.name).join("; ")}`);
}
