// The options of every command that runs the model (--model --ep --dtype --threads --huge-pages), and the
// one place that opens an Engine from them and closes it.
import { DTYPE_CHOICES, Engine, type EngineOptions } from "../engine/engine";
import { HUGE_PAGES_CHOICES, hugePagesForModel, hugePagesTunableSet } from "../engine/huge-pages";
import { embeddedModelDir } from "../engine/model-paths";
import { EP_PREFERENCES } from "../engine/providers";
import { checkThreads } from "../engine/session";
import { hubOffline } from "../hub/environment";
import { resolveModelRef } from "../hub/resolve";
import { choiceOption, intOption } from "./args";
import type { OptionSpecs, OptionValues } from "./command";
import { progressLogger } from "./progress";
import { RelaunchedError, relaunchWithHugePages } from "./relaunch";

export const MODEL_OPTION = {
  model: {
    type: "string",
    value: "DIR|REPO",
    help:
      "the checkpoint folder, or a Hugging Face model id (org/name[@revision]) fetched with `monet-lens pull`, " +
      "found in the Hugging Face cache without network (default: the embedded demo model, models/tiny-codemonet)",
  },
} as const satisfies OptionSpecs;

/**
 * The folder `--model` names: a folder as given, or a repo id's snapshot in the Hugging Face
 * cache (offline; a missing one is an error that says how to fetch it); undefined: the
 * embedded model.
 */
export function modelDirOption(model: string | undefined): string | undefined {
  return model === undefined ? undefined : resolveModelRef(model, { offline: hubOffline() }).dir;
}

/** modelDirOption, with the embedded model's folder for no --model. */
export const modelDirOrEmbedded = (model: string | undefined): string =>
  modelDirOption(model) ?? embeddedModelDir();

export const ENGINE_OPTIONS = {
  ...MODEL_OPTION,
  ep: {
    type: "string",
    value: EP_PREFERENCES.join("|"),
    help: "where the model runs (default auto: the first of cuda, webgpu, cpu that works here)",
  },
  dtype: {
    type: "string",
    value: DTYPE_CHOICES.join("|"),
    help:
      "the converted model's precision: int8/int4 quantize the large matrices (docs/quantization.md); " +
      "default auto: float16 on GPUs; on the CPU (src/engine/dtype.ts) float32 for small models, " +
      "int8 or int4 for large ones by memory",
  },
  threads: { type: "string", value: "N", help: "CPU threads (default: all cores, at most 8)" },
  "huge-pages": {
    type: "string",
    value: HUGE_PAGES_CHOICES.join("|"),
    help:
      "Linux: transparent huge pages for the model's memory, through glibc's GLIBC_TUNABLES=glibc.malloc.hugetlb=1 " +
      "(the command starts itself again with it); default auto: on for models over 1 GiB of float32 weights " +
      "(README, Huge pages). A GLIBC_TUNABLES of yours that sets glibc.malloc.hugetlb wins",
  },
} as const satisfies OptionSpecs;

export type EngineValues = OptionValues<typeof ENGINE_OPTIONS>;

/** The engine's settings from the options (checked: a bad value is a usage error). */
export function engineSettings(
  values: EngineValues,
): Pick<EngineOptions, "modelDir" | "ep" | "dtype" | "threads"> {
  return {
    modelDir: modelDirOption(values.model),
    ep: choiceOption(values.ep, "ep", EP_PREFERENCES, "auto"),
    dtype: choiceOption(values.dtype, "dtype", DTYPE_CHOICES, "auto"),
    threads:
      values.threads === undefined
        ? undefined
        : checkThreads(intOption(values.threads, "threads", 1, 1), "--threads"),
  };
}

/**
 * Opens the engine the options describe (conversion progress on stderr unless `quiet`),
 * runs `use` with it and closes it, whatever happens. Where the model should have huge pages
 * and this process was started without glibc's tunable, the command runs again with it
 * instead (relaunch.ts), and RelaunchedError carries its exit status out.
 */
export async function withEngine<T>(
  values: EngineValues,
  opts: { quiet?: boolean; profilePrefix?: string },
  use: (engine: Engine) => Promise<T>,
): Promise<T> {
  const settings = engineSettings(values);
  const hugePages = choiceOption(values["huge-pages"], "huge-pages", HUGE_PAGES_CHOICES, "auto");
  if (!hugePagesTunableSet() && hugePagesForModel(hugePages, settings.modelDir))
    throw new RelaunchedError(await relaunchWithHugePages());
  const engine = await Engine.open({
    ...settings,
    ...progressLogger(!opts.quiet),
    profilePrefix: opts.profilePrefix,
  });
  try {
    return await use(engine);
  } finally {
    await engine.close();
  }
}
