"""A tiny random Llama written twice: as a Hugging Face folder (config.json + model.safetensors,
float32) and as GGUF files written by the PyPI `gguf` package's GGUFWriter, the way llama.cpp's
converter writes a `llama` model (Q and K rows permuted for its rotary layout, llama.cpp names,
metadata keys). `f32.gguf` holds the same float32 weights; `q8_0.gguf` quantises the 2-D weights
to Q8_0, and `q8_0-hf/` is the HF folder of its dequantised weights (gguf.quants.dequantize).

With `--chat`, the vocabulary has 260 ids and `chat.gguf` (F32) also carries a tokenizer as
llama.cpp writes one (`gpt2` model: the 256 byte-level symbols, no merges, then `<|endoftext|>`,
`<|im_start|>`, `<|im_end|>`, `<|eot|>` as control tokens; eos `<|im_end|>`, no start token) and a
ChatML `tokenizer.chat_template`.

With `--arch qwen2` the model has q/k/v biases; with `--arch qwen3` per-head q_norm/k_norm and
an explicit head_dim (24, not hidden/heads); both are written as llama.cpp's converter writes
them: `general.architecture` qwen2/qwen3, Q/K rows NOT permuted (llama.cpp runs these with the
NEOX rotary layout, which is HF's), `blk.N.attn_q.bias`, `blk.N.attn_q_norm.weight`, and
`qwen3.attention.key_length`/`value_length`.

With `--arch mistral` the HF folder is a `mistral` one (sliding_window 4096, larger than any
sequence here) and the GGUF files are `llama`, permuted, as llama.cpp's converter writes Mistral.

With `--stray`, the GGUF files also hold `blk.1.attn_sinks.weight` (no parameter takes it), and
`gemma.gguf` is a file of an architecture the engine does not compute.

Usage: python3 gguf_model_fixture.py OUT_FOLDER [--untied] [--chat] [--arch llama|mistral|qwen2|qwen3] [--stray]
"""
import json, os, sys
import numpy as np
import gguf
from gguf import GGMLQuantizationType as T
from safetensors.numpy import save_file

out = sys.argv[1]
tied = "--untied" not in sys.argv
chat = "--chat" in sys.argv
arch = sys.argv[sys.argv.index("--arch") + 1] if "--arch" in sys.argv else "llama"
rng = np.random.default_rng(3)
H, L, HEADS, KV, FF, V, HD = 64, 2, 4, 2, 96, 260 if chat else 256, 24 if arch == "qwen3" else 16
gguf_arch = "llama" if arch == "mistral" else arch
cfg = dict(architectures=[{"llama": "LlamaForCausalLM", "mistral": "MistralForCausalLM", "qwen2": "Qwen2ForCausalLM", "qwen3": "Qwen3ForCausalLM"}[arch]],
           model_type=arch, hidden_size=H, intermediate_size=FF,
           num_hidden_layers=L, num_attention_heads=HEADS, num_key_value_heads=KV, rms_norm_eps=1e-5,
           rope_theta=10000.0, max_position_embeddings=256, vocab_size=V, tie_word_embeddings=tied,
           hidden_act="silu")
if arch == "qwen3":
    cfg["head_dim"] = HD
if arch == "mistral":
    cfg["sliding_window"] = 4096
w = {"model.embed_tokens.weight": rng.standard_normal((V, H)) * 0.5, "model.norm.weight": 1 + 0.1 * rng.standard_normal(H)}
if not tied:
    w["lm_head.weight"] = rng.standard_normal((V, H)) * 0.3
for i in range(L):
    p = f"model.layers.{i}."
    for name, shape in [("self_attn.q_proj", (HEADS * HD, H)), ("self_attn.k_proj", (KV * HD, H)),
                        ("self_attn.v_proj", (KV * HD, H)), ("self_attn.o_proj", (H, HEADS * HD)),
                        ("mlp.gate_proj", (FF, H)), ("mlp.up_proj", (FF, H)), ("mlp.down_proj", (H, FF))]:
        w[p + name + ".weight"] = rng.standard_normal(shape) * 0.2
    if arch == "qwen2":
        for name, n in [("q_proj", HEADS * HD), ("k_proj", KV * HD), ("v_proj", KV * HD)]:
            w[p + "self_attn." + name + ".bias"] = rng.standard_normal(n) * 0.3
    if arch == "qwen3":
        w[p + "self_attn.q_norm.weight"] = 1 + 0.2 * rng.standard_normal(HD)
        w[p + "self_attn.k_norm.weight"] = 1 + 0.2 * rng.standard_normal(HD)
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
         "mlp.down_proj": "ffn_down", "input_layernorm": "attn_norm", "post_attention_layernorm": "ffn_norm",
         "self_attn.q_norm": "attn_q_norm", "self_attn.k_norm": "attn_k_norm"}

def gguf_name(hf):
    base, suffix = hf.rsplit(".", 1)
    if base.startswith("model.layers."):
        _, _, i, rest = base.split(".", 3)
        return f"blk.{i}.{parts[rest]}.{suffix}"
    return names[base] + "." + suffix

CHATML = ("{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
          "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}")

def add_tokenizer(g):
    from tokenizers import pre_tokenizers
    # The byte-level alphabet in byte order (GPT-2's bytes_to_unicode), as llama.cpp stores it.
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs, n = bs[:], 0
    for b in range(256):
        if b not in bs:
            bs.append(b); cs.append(256 + n); n += 1
    symbol = dict(zip(bs, (chr(c) for c in cs)))
    assert set(symbol.values()) == set(pre_tokenizers.ByteLevel.alphabet())
    tokens = [symbol[b] for b in range(256)] + ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|eot|>"]
    g.add_tokenizer_model("gpt2"); g.add_tokenizer_pre("gpt2")
    g.add_token_list(tokens); g.add_token_types([1] * 256 + [3] * 4); g.add_token_merges([])
    g.add_eos_token_id(258); g.add_add_bos_token(False)
    g.add_chat_template(CHATML)

def write_gguf(path, qtype, tokenizer=False):
    g = gguf.GGUFWriter(path, gguf_arch)
    if tokenizer: add_tokenizer(g)
    g.add_block_count(L); g.add_context_length(256); g.add_embedding_length(H); g.add_feed_forward_length(FF)
    g.add_head_count(HEADS); g.add_head_count_kv(KV); g.add_rope_freq_base(10000.0)
    g.add_layer_norm_rms_eps(1e-5); g.add_rope_dimension_count(HD); g.add_vocab_size(V)
    if arch == "qwen3":
        g.add_key_length(HD); g.add_value_length(HD)
    deq = {}
    for hf, x in w.items():
        y = x
        if gguf_arch == "llama" and hf.endswith("q_proj.weight"): y = permute(x, HEADS)
        if gguf_arch == "llama" and hf.endswith("k_proj.weight"): y = permute(x, KV)
        if qtype == T.F32 or y.ndim == 1:
            g.add_tensor(gguf_name(hf), y)
            deq[hf] = x
        else:
            q = gguf.quants.quantize(y, qtype)
            g.add_tensor(gguf_name(hf), q, raw_dtype=qtype)
            d = gguf.quants.dequantize(q, qtype).astype(np.float32).reshape(y.shape)
            # Undo the permutation on the dequantised rows for the HF twin.
            if gguf_arch == "llama" and (hf.endswith("q_proj.weight") or hf.endswith("k_proj.weight")):
                n = HEADS if "q_proj" in hf else KV
                d = d.reshape(n, d.shape[0] // n // 2, 2, *d.shape[1:]).swapaxes(1, 2).reshape(d.shape)
            deq[hf] = np.ascontiguousarray(d)
    if "--stray" in sys.argv:
        g.add_tensor("blk.1.attn_sinks.weight", np.zeros(HEADS, dtype=np.float32))
    g.write_header_to_file(); g.write_kv_data_to_file(); g.write_tensors_to_file(); g.close()
    return deq

hf_folder(os.path.join(out, "hf"), w)
write_gguf(os.path.join(out, "f32.gguf"), T.F32)
hf_folder(os.path.join(out, "q8_0-hf"), write_gguf(os.path.join(out, "q8_0.gguf"), T.Q8_0))
if chat:
    write_gguf(os.path.join(out, "chat.gguf"), T.F32, tokenizer=True)
if "--stray" in sys.argv:
    g = gguf.GGUFWriter(os.path.join(out, "gemma.gguf"), "gemma")
    g.add_block_count(L); g.add_embedding_length(H)
    g.add_tensor("token_embd.weight", w["model.embed_tokens.weight"])
    g.write_header_to_file(); g.write_kv_data_to_file(); g.write_tensors_to_file(); g.close()
