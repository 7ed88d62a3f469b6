// Where Monet Lens keeps what it computes (converted models, remembered content hashes) when
// no other folder is given: $MONET_LENS_CACHE, else $XDG_CACHE_HOME/monet-lens (~/.cache/monet-lens).
// The extension passes its own storage folder instead (engine/model-store.ts cacheDirFor).
import { homedir } from "node:os";
import { join } from "node:path";

export function defaultCacheRoot(env: Readonly<Record<string, string | undefined>> = process.env): string {
  return env.MONET_LENS_CACHE ?? join(env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "monet-lens");
}
