// Where the embedded demo model lives, whether running from src/ (tests), dist/ (the CLI
// and the extension bundle) or an installed .vsix.
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";

export const EMBEDDED_MODEL_NAME = "tiny-codemonet";

export function embeddedModelDir(): string {
  let dir = __dirname;
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, "models", EMBEDDED_MODEL_NAME);
    if (existsSync(join(candidate, "config.json"))) return candidate;
    dir = dirname(dir);
  }
  throw new Error(
    `the embedded model folder models/${EMBEDDED_MODEL_NAME} was not found above ` +
      `${__dirname}; reinstall the extension or pass --model DIR`,
  );
}
