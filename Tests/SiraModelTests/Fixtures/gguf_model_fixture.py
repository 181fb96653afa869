"""A tiny random Llama written twice: as a Hugging Face folder (config.json + model.safetensors,
float32) and as GGUF files written by the PyPI `gguf` package's GGUFWriter, the way llama.cpp's
converter writes a `llama` model (Q and K rows permuted for its rotary layout, llama.cpp names,
metadata keys). `f32.gguf` holds the same float32 weights; `q8_0.gguf` quantises the 2-D weights
to Q8_0, and `q8_0-hf/` is the HF folder of its dequantised weights (gguf.quants.dequantize).

Usage: python3 gguf_model_fixture.py OUT_FOLDER [--untied]
"""
import json, os, sys
import numpy as np
import gguf
from gguf import GGMLQuantizationType as T
from safetensors.numpy import save_file

out = sys.argv[1]
tied = "--untied" not in sys.argv
rng = np.random.default_rng(3)
H, L, HEADS, KV, FF, V, HD = 64, 2, 4, 2, 96, 256, 16
cfg = dict(architectures=["LlamaForCausalLM"], model_type="llama", hidden_size=H, intermediate_size=FF,
           num_hidden_layers=L, num_attention_heads=HEADS, num_key_value_heads=KV, rms_norm_eps=1e-5,
           rope_theta=10000.0, max_position_embeddings=256, vocab_size=V, tie_word_embeddings=tied,
           hidden_act="silu")
w = {"model.embed_tokens.weight": rng.standard_normal((V, H)) * 0.5, "model.norm.weight": 1 + 0.1 * rng.standard_normal(H)}
if not tied:
    w["lm_head.weight"] = rng.standard_normal((V, H)) * 0.3
for i in range(L):
    p = f"model.layers.{i}."
    for name, shape in [("self_attn.q_proj", (HEADS * HD, H)), ("self_attn.k_proj", (KV * HD, H)),
                        ("self_attn.v_proj", (KV * HD, H)), ("self_attn.o_proj", (H, HEADS * HD)),
                        ("mlp.gate_proj", (FF, H)), ("mlp.up_proj", (FF, H)), ("mlp.down_proj", (H, FF))]:
        w[p + name + ".weight"] = rng.standard_normal(shape) * 0.2
    w[p + "input_layernorm.weight"] = 1 + 0.1 * rng.standard_normal(H)
    w[p + "post_attention_layernorm.weight"] = 1 + 0.1 * rng.standard_normal(H)
w = {k: v.astype(np.float32) for k, v in w.items()}

def hf_folder(folder, weights):
    os.makedirs(folder, exist_ok=True)
    save_file(weights, os.path.join(folder, "model.safetensors"), metadata={"format": "pt"})
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(cfg, f)

def permute(x, n_head):
    # llama.cpp's convert_hf_to_gguf.py LlamaModel.permute: pairs (i, i + d/2) become (2i, 2i+1).
    return x.reshape(n_head, 2, x.shape[0] // n_head // 2, *x.shape[1:]).swapaxes(1, 2).reshape(x.shape)

names = {"model.embed_tokens": "token_embd", "model.norm": "output_norm", "lm_head": "output"}
parts = {"self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v",
         "self_attn.o_proj": "attn_output", "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up",
         "mlp.down_proj": "ffn_down", "input_layernorm": "attn_norm", "post_attention_layernorm": "ffn_norm"}

def gguf_name(hf):
    base = hf[: -len(".weight")]
    if base.startswith("model.layers."):
        _, _, i, rest = base.split(".", 3)
        return f"blk.{i}.{parts[rest]}.weight"
    return names[base] + ".weight"

def write_gguf(path, qtype):
    g = gguf.GGUFWriter(path, "llama")
    g.add_block_count(L); g.add_context_length(256); g.add_embedding_length(H); g.add_feed_forward_length(FF)
    g.add_head_count(HEADS); g.add_head_count_kv(KV); g.add_rope_freq_base(10000.0)
    g.add_layer_norm_rms_eps(1e-5); g.add_rope_dimension_count(HD); g.add_vocab_size(V)
    deq = {}
    for hf, x in w.items():
        y = x
        if hf.endswith("q_proj.weight"): y = permute(x, HEADS)
        if hf.endswith("k_proj.weight"): y = permute(x, KV)
        if qtype == T.F32 or y.ndim == 1:
            g.add_tensor(gguf_name(hf), y)
            deq[hf] = x
        else:
            q = gguf.quants.quantize(y, qtype)
            g.add_tensor(gguf_name(hf), q, raw_dtype=qtype)
            d = gguf.quants.dequantize(q, qtype).astype(np.float32).reshape(y.shape)
            # Undo the permutation on the dequantised rows for the HF twin.
            if hf.endswith("q_proj.weight") or hf.endswith("k_proj.weight"):
                n = HEADS if "q_proj" in hf else KV
                d = d.reshape(n, d.shape[0] // n // 2, 2, *d.shape[1:]).swapaxes(1, 2).reshape(d.shape)
            deq[hf] = np.ascontiguousarray(d)
    g.write_header_to_file(); g.write_kv_data_to_file(); g.write_tensors_to_file(); g.close()
    return deq

hf_folder(os.path.join(out, "hf"), w)
write_gguf(os.path.join(out, "f32.gguf"), T.F32)
hf_folder(os.path.join(out, "q8_0-hf"), write_gguf(os.path.join(out, "q8_0.gguf"), T.Q8_0))
