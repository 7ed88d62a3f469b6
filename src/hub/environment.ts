// The Hugging Face environment variables, read the way Python's huggingface_hub reads them
// (huggingface_hub/constants.py and utils/_auth.py), so that one setting serves both.
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

export const DEFAULT_ENDPOINT = "https://huggingface.co";

type Env = Readonly<Record<string, string | undefined>>;

/** `HF_ENDPOINT` (a mirror), else the Hub; no trailing slash. */
export function hubEndpoint(env: Env = process.env): string {
  return (env.HF_ENDPOINT?.trim() || DEFAULT_ENDPOINT).replace(/\/+$/, "");
}

/** Python's `_is_true`: 1, ON, YES, TRUE in any case. */
function isTrue(v: string | undefined): boolean {
  return v !== undefined && ["1", "ON", "YES", "TRUE"].includes(v.trim().toUpperCase());
}

/** `HF_HUB_OFFLINE` (or the older `TRANSFORMERS_OFFLINE`): no network at all. */
export function hubOffline(env: Env = process.env): boolean {
  return isTrue(env.HF_HUB_OFFLINE) || isTrue(env.TRANSFORMERS_OFFLINE);
}

/** `HF_HOME`, else `$XDG_CACHE_HOME/huggingface`, else `~/.cache/huggingface`. */
export function hfHome(env: Env = process.env): string {
  return env.HF_HOME || join(env.XDG_CACHE_HOME || join(homedir(), ".cache"), "huggingface");
}

/** `HF_HUB_CACHE`, else the older `HUGGINGFACE_HUB_CACHE`, else `HF_HOME/hub`. */
export function hubCacheDir(env: Env = process.env): string {
  return env.HF_HUB_CACHE || env.HUGGINGFACE_HUB_CACHE || join(hfHome(env), "hub");
}

/**
 * The access token: `HF_TOKEN`, else the older `HUGGING_FACE_HUB_TOKEN`, else the file that
 * `huggingface-cli login` writes (`HF_TOKEN_PATH`, else `HF_HOME/token`). Undefined: anonymous.
 */
export function hubToken(env: Env = process.env): string | undefined {
  const fromEnv = env.HF_TOKEN?.trim() || env.HUGGING_FACE_HUB_TOKEN?.trim();
  if (fromEnv) return fromEnv;
  try {
    return readFileSync(env.HF_TOKEN_PATH || join(hfHome(env), "token"), "utf8").trim() || undefined;
  } catch {
    return undefined;
  }
}
