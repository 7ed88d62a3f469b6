// Paths of ../shared/fixtures and the demo model for the tests; the fixture reader itself
// lives in src/bench/fixture-file.ts (the GPU check reads the same files).
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { EngineSettings } from "../../src/app/engine-host";

export {
  f32,
  i64,
  maxAbsDiff,
  readFixture,
  shape,
  u8,
  type FixtureTensor,
} from "../../src/bench/fixture-file";

export const SHARED = join(process.cwd(), "..", "shared");
export const FIXTURES = join(SHARED, "fixtures");
export const DEMO_MODEL = join(process.cwd(), "models", "tiny-codemonet");

/** Engine-host settings for the demo model on the CPU, the defaults otherwise (spread and override). */
export const DEMO_ENGINE_SETTINGS = {
  modelDir: DEMO_MODEL,
  ep: "cpu",
  dtype: "auto",
  threads: 0,
  hugePages: "auto",
  idleUnloadMs: 0,
} as const satisfies EngineSettings;

/** A conversion cache shared by the test files of one run (conversions are keyed by content). */
export const TEST_CACHE = join(process.cwd(), "test-output", "cache");
// A clean clone has no test-output/ yet; test files make temp folders beside the cache.
mkdirSync(TEST_CACHE, { recursive: true });
