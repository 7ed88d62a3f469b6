// The published Monet family on the Hugging Face Hub, for pickers (VS Code's Download Model…)
// and `monet-lens pull`'s help.
//
// Where each figure comes from (looked up for issue #13, 2026-11):
// - the repo ids and parameter counts: the MonetLLM organisation page on the Hub and the model
//   tables of github.com/dmis-lab/Monet README.md ("Model Checkpoints");
// - "1.71 GB" (monet-vd-850M) and "2.93 GB" (monet-hd-1.4B, monet-vd-1.4B-chat): the size the
//   Hub's "Files and versions" page lists for the repo's model.safetensors (tokenizer.model adds
//   500 kB, the JSON files a few kB);
// - "2.93 GB" for codemonet-vd-1.4B and monet-vd-1.4B is computed, not read: the published 1.4B
//   config (src/checkpoint/published-configs.ts) gives 1,465,157,632 bf16 parameters
//   (2,930,315,264 bytes), the figure the Hub lists for the two 1.4B repos above;
// - no size could be found for monet-hd-850M and the two 4.1B models: "size unknown".
export interface PublishedModel {
  /** The repo id, `org/name`. */
  repo: string;
  /** What to show in a picker. */
  label: string;
  /** Parameter count as the model card states it. */
  parameters: string;
  decomposition: "vertical" | "horizontal";
  /** Download size of the files `pull` fetches, or "size unknown". */
  size: string;
  /** Trained on code: the one to use for completions. */
  recommended: boolean;
  detail: string;
}

export const PUBLISHED_MODELS: readonly PublishedModel[] = Object.freeze([
  {
    repo: "MonetLLM/codemonet-vd-1.4B-100BT-hf",
    label: "CodeMonet-VD 1.4B",
    parameters: "1.4B",
    decomposition: "vertical",
    size: "2.93 GB",
    recommended: true,
    detail: "trained on 100B tokens of code (StarCoderData); recommended for code completion",
  },
  {
    repo: "MonetLLM/monet-vd-850M-100BT-hf",
    label: "Monet-VD 850M",
    parameters: "850M",
    decomposition: "vertical",
    size: "1.71 GB",
    recommended: false,
    detail: "general text (FineWeb-Edu, 100B tokens)",
  },
  {
    repo: "MonetLLM/monet-hd-850M-100BT-hf",
    label: "Monet-HD 850M",
    parameters: "850M",
    decomposition: "horizontal",
    size: "size unknown",
    recommended: false,
    detail: "general text (FineWeb-Edu, 100B tokens)",
  },
  {
    repo: "MonetLLM/monet-vd-1.4B-100BT-hf",
    label: "Monet-VD 1.4B",
    parameters: "1.4B",
    decomposition: "vertical",
    size: "2.93 GB",
    recommended: false,
    detail: "general text (FineWeb-Edu, 100B tokens)",
  },
  {
    repo: "MonetLLM/monet-hd-1.4B-100BT-hf",
    label: "Monet-HD 1.4B",
    parameters: "1.4B",
    decomposition: "horizontal",
    size: "2.93 GB",
    recommended: false,
    detail: "general text (FineWeb-Edu, 100B tokens)",
  },
  {
    repo: "MonetLLM/monet-vd-4.1B-100BT-hf",
    label: "Monet-VD 4.1B",
    parameters: "4.1B",
    decomposition: "vertical",
    size: "size unknown",
    recommended: false,
    detail: "general text (FineWeb-Edu, 100B tokens)",
  },
  {
    repo: "MonetLLM/monet-hd-4.1B-100BT-hf",
    label: "Monet-HD 4.1B",
    parameters: "4.1B",
    decomposition: "horizontal",
    size: "size unknown",
    recommended: false,
    detail: "general text (FineWeb-Edu, 100B tokens)",
  },
  {
    repo: "MonetLLM/monet-vd-1.4B-100BT-chat-hf",
    label: "Monet-VD 1.4B Chat",
    parameters: "1.4B",
    decomposition: "vertical",
    size: "2.93 GB",
    recommended: false,
    detail: "instruction-tuned for chat (SmolLM recipe)",
  },
]);

/** The default of `monet-lens pull` and the recommended pick. */
export const DEFAULT_MODEL_REPO = PUBLISHED_MODELS[0]!.repo;
