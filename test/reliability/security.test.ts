// Security (SECURITY.md): no code from a model folder is run; the webview's CSP is strict and
// its messages are validated and carry no paths; path settings are normalised and checked;
// the extension writes converted models under its own storage.
import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import {
  existsSync,
  linkSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { homedir } from "node:os";
import { join, relative } from "node:path";
import { EngineClient, type ClientOptions } from "../../src/engine/engine-client";
import { contentSecurityPolicy, heatmapHtml } from "../../src/heatmap/html";
import { parseWebviewMessage } from "../../src/heatmap-shared/messages";
import { validateModelFolder } from "../../src/app/commands";
import { normaliseSettingPath, readConfig } from "../../src/app/config";
import { Ctx } from "../../src/app/ctx";
import { FakeMemento, FakeUi } from "../helpers/fakes";
import { DEMO_MODEL, TEST_CACHE } from "../helpers/fixtures";

const scratch = mkdtempSync(join(TEST_CACHE, "..", "reliability-security-"));
after(() => rmSync(scratch, { recursive: true, force: true }));

describe("no code from a model folder is ever run", () => {
  it("a folder asking for remote code, with Python and JavaScript beside the weights: it loads as data and nothing runs", async () => {
    const dir = join(scratch, "remote-code-model");
    mkdirSync(dir);
    for (const f of readdirSync(DEMO_MODEL))
      if (statSync(join(DEMO_MODEL, f)).isFile()) linkSync(join(DEMO_MODEL, f), join(dir, f));
    const marker = join(scratch, "code-ran");
    const payload = `require("fs").writeFileSync(${JSON.stringify(marker)}, "ran")`;
    const config = JSON.parse(readFileSync(join(DEMO_MODEL, "config.json"), "utf8")) as Record<
      string,
      unknown
    >;
    rmSync(join(dir, "config.json"));
    writeFileSync(
      join(dir, "config.json"),
      JSON.stringify({
        ...config,
        auto_map: {
          AutoConfig: "configuration_monet.MonetConfig",
          AutoModelForCausalLM: "modeling_monet.MonetForCausalLM",
        },
        trust_remote_code: true,
      }),
    );
    writeFileSync(
      join(dir, "modeling_monet.py"),
      `import os\nopen(${JSON.stringify(marker)}, "w").write("ran")\n`,
    );
    for (const js of ["index.js", "model.js", "modeling_monet.js", "tokenizer.js"])
      writeFileSync(join(dir, js), payload);
    writeFileSync(
      join(dir, "package.json"),
      JSON.stringify({ name: "evil", main: "index.js", scripts: { postinstall: "node index.js" } }),
    );
    assert.match(await validateModelFolder(dir), /^CodeMonet-VD/);
    const client = new EngineClient({ modelDir: dir, ep: "cpu", cacheDir: TEST_CACHE });
    try {
      assert.ok((await client.generate({ prompt: "x = ", maxTokens: 2 })).ids.length > 0);
    } finally {
      await client.close();
    }
    assert.ok(!existsSync(marker), "no file of the model folder was executed");
  });

  it("the product's code has no dynamic evaluation and no import of a computed path", () => {
    const files: string[] = [];
    const walk = (d: string) => {
      for (const n of readdirSync(d)) {
        const p = join(d, n);
        if (statSync(p).isDirectory()) walk(p);
        else if (/\.(ts|mjs|js)$/.test(n)) files.push(p);
      }
    };
    for (const d of ["src", "native", "webview"]) if (existsSync(d)) walk(d);
    assert.ok(files.length > 50);
    const banned: Array<[RegExp, string]> = [
      [/\beval\s*\(/, "eval"],
      [/\bnew\s+Function\s*\(/, "new Function"],
      [/from\s+["']node:vm["']|require\(["'](node:)?vm["']\)/, "node:vm"],
      [/\brequire\s*\(\s*[^"'\s)]/, "require of a computed path"],
      [/\bimport\s*\(\s*[^"'\s)]/, "import() of a computed path"],
      [/\.innerHTML\s*=|insertAdjacentHTML|outerHTML\s*=/, "HTML from strings"],
      [/\b(fetch|XMLHttpRequest|WebSocket)\s*\(/, "network requests"],
    ];
    // The one network use is the download the user asks for (monet-lens pull), in src/hub/ only.
    const allowed = (f: string, what: string) =>
      what === "network requests" && relative(process.cwd(), f).startsWith(join("src", "hub"));
    const hits = files.flatMap((f) => {
      const text = readFileSync(f, "utf8").replace(/^\s*\/\/.*$/gm, "");
      return banned
        .filter(([re, what]) => re.test(text) && !allowed(f, what))
        .map(([, what]) => `${relative(process.cwd(), f)}: ${what}`);
    });
    assert.deepEqual(hits, []);
  });
});

describe("the webview", () => {
  it("has a strict CSP: nothing by default, scripts by nonce, no unsafe-inline or unsafe-eval, no remote source", () => {
    const nonce = "n0nceN0nceN0nce0123456789";
    const csp = contentSecurityPolicy(nonce, "https://*.vscode-cdn.net");
    assert.match(csp, /^default-src 'none'; /);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|\bhttp:|\*(?!\.vscode-cdn\.net)|data:.*script|\bws:/);
    const directives = Object.fromEntries(
      csp.split("; ").map((d) => [d.split(" ")[0], d.split(" ").slice(1)]),
    );
    assert.deepEqual(directives["script-src"], [`'nonce-${nonce}'`]);
    for (const [name, sources] of Object.entries(directives)) {
      for (const s of sources!)
        assert.ok(
          s === "'none'" || s.startsWith("'nonce-") || s === "https://*.vscode-cdn.net" || s === "data:",
          `${name} ${s}`,
        );
    }
    const html = heatmapHtml({
      nonce,
      scriptUri: "https://file+.vscode-resource.vscode-cdn.net/x/media/heatmap.js",
      styleUri: "https://file+.vscode-resource.vscode-cdn.net/x/media/heatmap.css",
      cspSource: "https://*.vscode-cdn.net",
    });
    assert.equal((html.match(/<script/g) ?? []).length, 1);
    assert.ok(!/<script(?![^>]*nonce=)/.test(html), "every script carries the nonce");
    assert.throws(() => contentSecurityPolicy(nonce, "https://x; script-src *"), /not a CSP source/);
  });

  it("messages: random and hostile input is never accepted unless it is exactly one of the shapes, and no message can carry a path", () => {
    let x = 7;
    const rnd = () => {
      x = (x * 1103515245 + 12345) >>> 0;
      return x / 2 ** 32;
    };
    const values: unknown[] = [
      null,
      undefined,
      true,
      0,
      -1,
      1.5,
      1e9,
      NaN,
      "",
      "../../etc/passwd",
      "/etc/passwd",
      "python",
      "a".repeat(100_000),
      [],
      {},
      { __proto__: { type: "ready" } },
    ];
    const types = [
      "ready",
      "refresh",
      "setPinned",
      "toggleMask",
      "selectTokens",
      "setTab",
      "runCompare",
      "openFile",
      "__proto__",
      "constructor",
    ];
    const fields = ["pinned", "language", "seq", "from", "to", "tab", "path", "uri", "file", "__proto__"];
    let accepted = 0;
    for (let i = 0; i < 20_000; i++) {
      const m: Record<string, unknown> = { type: types[Math.floor(rnd() * types.length)] };
      const k = Math.floor(rnd() * 4);
      for (let j = 0; j < k; j++)
        m[fields[Math.floor(rnd() * fields.length)]!] = values[Math.floor(rnd() * values.length)];
      const r = parseWebviewMessage(m);
      if (!r.ok) {
        assert.ok(r.error.length < 200, "errors stay short");
        continue;
      }
      accepted++;
      for (const key of Object.keys(r.message))
        assert.ok(!["path", "uri", "file", "__proto__"].includes(key), `accepted a message with ${key}`);
      for (const v of Object.values(r.message))
        if (typeof v === "string")
          assert.ok(!/[/\\]/.test(v), `accepted a path-like string ${v.slice(0, 40)}`);
    }
    assert.ok(accepted > 0, "valid shapes were generated and accepted");
    assert.equal(
      parseWebviewMessage(JSON.parse('{"type":"toggleMask","language":"python","__proto__":{"x":1}}')).ok,
      false,
    );
  });
});

describe("paths from settings", () => {
  it("are absolute, normalised, with ~ expanded; relative paths and NUL characters are refused naming the setting", () => {
    assert.deepEqual(normaliseSettingPath("  /models/x/../y//z/ "), { path: "/models/y/z" });
    assert.deepEqual(normaliseSettingPath("~/models/m"), { path: join(homedir(), "models", "m") });
    assert.deepEqual(normaliseSettingPath(""), { path: "" });
    const { config, problems } = readConfig(
      (key) => ({ modelPath: "models/demo/tiny", atlasPath: "/tmp/a\0b.atlas.json" })[key as string],
    );
    assert.equal(config.modelPath, "", "a relative model path falls back to the embedded model");
    assert.equal(config.atlasPath, "");
    assert.match(
      problems.join("\n"),
      /monetLens\.modelPath: "models\/demo\/tiny" is not an absolute folder path \(e\.g\. .*~\/models\/codemonet\) or a Hugging Face model id/,
    );
    // org/name is a Hugging Face repo id: looked up in the Hugging Face cache only (models--org--name),
    // never as a path, so it cannot point anywhere else.
    const repo = readConfig((key) => (key === "modelPath" ? "models/tiny" : undefined));
    assert.equal(repo.config.modelPath, "models/tiny");
    assert.deepEqual(repo.problems, []);
    assert.match(
      problems.join("\n"),
      /monetLens\.atlasPath: .* is not a path \(it contains a NUL character\)/,
    );
  });
});

describe("where the extension writes", () => {
  it("converted models go under the extension's storage, not a shared or home folder", async () => {
    const storage = join(scratch, "global-storage");
    const saved = process.env.MONET_LENS_CACHE;
    delete process.env.MONET_LENS_CACHE;
    const seen: ClientOptions[] = [];
    try {
      const ctx = new Ctx({
        ui: new FakeUi(),
        log: { info: () => undefined, warn: () => undefined, error: () => undefined },
        settings: () => (key) =>
          ({ modelPath: DEMO_MODEL, executionProvider: "cpu", idleUnloadMinutes: 0 })[key as string],
        enableFor: () => true,
        workspaceState: new FakeMemento(),
        storageDir: storage,
        engine: {
          createClient: (o) => {
            seen.push(o);
            return new EngineClient(o);
          },
        },
        shippedAtlasDir: null,
      });
      try {
        const info = await ctx.engineInfo();
        assert.equal(seen[0]!.cacheDir, join(storage, "cache"));
        assert.ok(info.convertedDir.startsWith(join(storage, "cache", "converted")), info.convertedDir);
        assert.ok(existsSync(join(info.convertedDir, "manifest.json")));
      } finally {
        await ctx.dispose();
      }
    } finally {
      if (saved !== undefined) process.env.MONET_LENS_CACHE = saved;
    }
  });
});
