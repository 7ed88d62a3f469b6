// Opens a .vsix (a zip, read with yauzl) and checks it against native/platforms.json: its
// target platform, exactly that platform's onnxruntime-node native files (byte sizes equal to
// the installed ones) and nothing of the other platforms, the bundles, the demo model and
// its atlas, and no sources.
//
//   tsx scripts/vsix-check.ts [FILE.vsix ...]   (default: every vsix/*.vsix)
import { readdirSync } from "node:fs";
import { basename, join } from "node:path";
import { openPromise, type ZipFile } from "yauzl";
import { problemsOf, readPlatforms, ROOT, type PlatformManifest } from "./platforms";

export interface VsixContents {
  /** Paths inside extension/ with their uncompressed sizes. */
  files: Map<string, number>;
  /** TargetPlatform of the package's extension.vsixmanifest ("" when it has none). */
  target: string;
}

async function readText(zip: ZipFile, entry: import("yauzl").Entry): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of await zip.openReadStreamPromise(entry)) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

export async function readVsix(path: string): Promise<VsixContents> {
  const zip = await openPromise(path);
  const files = new Map<string, number>();
  let target = "";
  try {
    for await (const entry of zip.eachEntry()) {
      if (entry.fileName.endsWith("/")) continue;
      if (entry.fileName === "extension.vsixmanifest") {
        target = /TargetPlatform="([^"]+)"/.exec(await readText(zip, entry))?.[1] ?? "";
      } else if (entry.fileName.startsWith("extension/")) {
        files.set(entry.fileName.slice("extension/".length), entry.uncompressedSize);
      }
    }
  } finally {
    zip.close();
  }
  return { files, target };
}

/** The problems of one package meant for `target` (default: the one its manifest names); none when it is right. */
export async function checkVsix(path: string, target?: string, m = readPlatforms()): Promise<string[]> {
  const contents = await readVsix(path);
  target ??= contents.target;
  if (!m.targets[target]) return [`its manifest names no known target platform ("${contents.target}")`];
  const problems = problemsOf(m, target, contents.files);
  if (contents.target !== target)
    problems.unshift(`its manifest's TargetPlatform is "${contents.target}", not ${target}`);
  return problems;
}

/** The target of a package named by vsce (monet-lens-<target>-<version>.vsix). */
export function targetOfName(m: PlatformManifest, file: string): string | undefined {
  return Object.keys(m.targets).find((t) => basename(file).includes(`-${t}-`));
}

if (require.main === module) {
  const m = readPlatforms();
  const args = process.argv.slice(2);
  const files = args.length
    ? args
    : readdirSync(join(ROOT, "vsix"))
        .filter((f) => f.endsWith(".vsix"))
        .map((f) => join(ROOT, "vsix", f));
  void (async () => {
    let bad = 0;
    for (const f of files) {
      const problems = await checkVsix(f, targetOfName(m, f), m);
      bad += problems.length ? 1 : 0;
      process.stdout.write(`${problems.length ? "FAIL" : "ok  "} ${basename(f)}\n`);
      for (const p of problems) process.stdout.write(`       ${p}\n`);
    }
    process.exit(bad ? 1 : 0);
  })();
}
