// The config.json values of the published Monet checkpoints, for `monet-lens synth`, so that
// random-weight stand-ins have the real models' shape and routing density.
//
// Sources (looked up for issue #13, 2026-11):
// - 1.4B, vertical: the published config.json of MonetLLM/visionmonet-vd-1.4B-100BT-hf (the
//   Hub's blob view), whose language model is Monet-VD 1.4B: hidden_size 2048, 24 layers,
//   16 heads (16 kv), moe_dim 16, moe_heads 8, moe_experts 512, moe_topk 8, moe_groups 4,
//   vocab 32000 (LLaMA tokenizer), max_position_embeddings 2048, rms_norm_eps 1e-6, rope_theta
//   10000, untied embeddings. CodeMonet-VD 1.4B and Monet-VD 1.4B have this shape: their
//   model.safetensors is the 2.93 GB these values give (1,465,157,632 bf16 parameters).
// - 1.4B, horizontal: the same values with "moe_decompose": "horizontal". Inferred, not read:
//   the Hub lists monet-hd-1.4B's config.json at 938 bytes against 936 for the VD models (the
//   length of "horizontal" minus "vertical") and its model.safetensors at the same 2.93 GB,
//   which HD with moe_dim 16 gives (2·E·m·d expert weights per layer in both forms).
// - 850M and 4.1B: no published config.json could be found in any source available here, so
//   their values are not known: synth asks for the model's config.json (--config) instead of
//   inventing them.

/** config.json as published (Hugging Face keys); absent keys take the upstream defaults. */
export interface HfMonetConfigJson {
  vocab_size?: number;
  hidden_size?: number;
  num_hidden_layers?: number;
  num_attention_heads?: number;
  num_key_value_heads?: number;
  hidden_act?: string;
  max_position_embeddings?: number;
  rms_norm_eps?: number;
  rope_theta?: number;
  tie_word_embeddings?: boolean;
  bos_token_id?: number;
  eos_token_id?: number | number[];
  moe_dim?: number;
  moe_heads?: number;
  moe_experts?: number;
  moe_topk?: number;
  moe_groups?: number;
  moe_decompose?: "vertical" | "horizontal";
  [key: string]: unknown;
}

export type PublishedSize = "850m" | "1.4b" | "4.1b";
export type Decomposition = "vd" | "hd";

const MONET_1_4B_VD: Readonly<HfMonetConfigJson> = Object.freeze({
  vocab_size: 32000,
  hidden_size: 2048,
  num_hidden_layers: 24,
  num_attention_heads: 16,
  num_key_value_heads: 16,
  hidden_act: "relu2",
  max_position_embeddings: 2048,
  rms_norm_eps: 1e-6,
  rope_theta: 10000,
  tie_word_embeddings: false,
  bos_token_id: 1,
  eos_token_id: 2,
  moe_dim: 16,
  moe_heads: 8,
  moe_experts: 512,
  moe_topk: 8,
  moe_groups: 4,
  moe_decompose: "vertical",
});

/** Published config values by size and decomposition; undefined where not known. */
export const PUBLISHED_CONFIGS: Readonly<
  Record<PublishedSize, Partial<Record<Decomposition, Readonly<HfMonetConfigJson>>>>
> = Object.freeze({
  "850m": {},
  "1.4b": {
    vd: MONET_1_4B_VD,
    hd: Object.freeze({ ...MONET_1_4B_VD, moe_decompose: "horizontal" as const }),
  },
  "4.1b": {},
});

/** The published CodeMonet-VD 1.4B config (MonetLLM/codemonet-vd-1.4B-100BT-hf). */
export const CODEMONET_VD_1_4B_CONFIG = MONET_1_4B_VD;
