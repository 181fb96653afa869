#!/usr/bin/env python3
"""Writes a random tiny Llama-family model in Hugging Face format and the logits of an independent
numpy forward pass (float64, written from the published modelling equations of HF's
LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM and Qwen3ForCausalLM) for the Swift engine
to match.

usage: tiny_llama_reference.py OUT_DIR [--seed N] [--tied] [--sharded] [--rope-scaling llama3]
       [--vocab V] [--arch llama|mistral|qwen2|qwen3] [--kv N] [--attention-bias]
       [--extra-key KEY] [--extra-tensor NAME]

The families differ only in: qwen2 adds biases to q/k/v; `attention_bias` (llama, qwen3) adds them
to q/k/v/o; qwen3 RMS-normalises each head of q and k (weights [head_dim]) before RoPE and its
head_dim is its own (here not hidden/heads); mistral declares a sliding window, larger than the
sequences here, so attention is the full causal one. `--extra-key` / `--extra-tensor` write a config
key / tensor the engine does not implement, for the refusal tests.

OUT_DIR receives config.json, model.safetensors (or two shards + model.safetensors.index.json)
and expected.json {"batch", "seq", "tokens", "logits"}. Weights are stored in a mix of F32, F16
and BF16; the reference uses exactly the stored values. F32/F16 files are written by the
`safetensors` library; numpy has no bfloat16, so BF16 tensors go through a small writer here
whose output is checked by opening it with `safetensors`.
"""
import argparse
import json
import os
import struct

import numpy as np
from safetensors import safe_open
from safetensors.numpy import save_file

p = argparse.ArgumentParser()
p.add_argument("out")
p.add_argument("--seed", type=int, default=0)
p.add_argument("--tied", action="store_true")
p.add_argument("--sharded", action="store_true")
p.add_argument("--rope-scaling", default=None)
p.add_argument("--vocab", type=int, default=61)
p.add_argument("--arch", default="llama", choices=["llama", "mistral", "qwen2", "qwen3"])
p.add_argument("--kv", type=int, default=2)
p.add_argument("--attention-bias", action="store_true")
p.add_argument("--extra-key", default=None)
p.add_argument("--extra-tensor", default=None)
args = p.parse_args()
rng = np.random.default_rng(args.seed)
os.makedirs(args.out, exist_ok=True)

ARCH = args.arch
V, D, H, KV, HD, I, L = args.vocab, 24, 4, args.kv, (6 if ARCH == "qwen3" else 8), 40, 2
EPS, THETA = 1e-5, 500.0
QKV_BIAS = ARCH == "qwen2" or args.attention_bias
O_BIAS = args.attention_bias and ARCH in ("llama", "qwen3")
QK_NORM = ARCH == "qwen3"
CLASS = {"llama": "LlamaForCausalLM", "mistral": "MistralForCausalLM",
         "qwen2": "Qwen2ForCausalLM", "qwen3": "Qwen3ForCausalLM"}[ARCH]
config = {
    "architectures": [CLASS], "model_type": ARCH, "torch_dtype": "bfloat16",
    "hidden_size": D, "intermediate_size": I, "num_hidden_layers": L, "num_attention_heads": H,
    "num_key_value_heads": KV, "head_dim": HD, "vocab_size": V, "rms_norm_eps": EPS,
    "rope_theta": THETA, "tie_word_embeddings": args.tied, "max_position_embeddings": 64,
    "hidden_act": "silu", "initializer_range": 0.02, "transformers_version": "4.51.0",
    "bos_token_id": 1, "eos_token_id": [2, 3], "attention_dropout": 0.0,
}
if ARCH in ("llama", "qwen3"):
    config["attention_bias"] = args.attention_bias
if ARCH == "mistral":
    config["sliding_window"] = 32  # longer than every sequence below: full causal attention
if ARCH in ("qwen2", "qwen3"):
    config.update({"use_sliding_window": False, "sliding_window": 4, "max_window_layers": L})
if args.extra_key:
    config[args.extra_key] = 1
if args.rope_scaling == "llama3":
    config["rope_scaling"] = {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                              "high_freq_factor": 4.0, "original_max_position_embeddings": 16}


def to_bf16_bits(x):
    """float32 -> bfloat16 bit patterns, round to nearest even."""
    b = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32).astype(np.uint64)
    b = (b + 0x7FFF + ((b >> 16) & 1)) >> 16
    return b.astype(np.uint16)


def from_bf16_bits(bits):
    return (bits.astype(np.uint32) << 16).view(np.float32)


# name -> (dtype on disk, stored value as float64)
weights = {}
stored = {}  # name -> (dtype, raw array to write)


def add(name, shape, dtype, scale=0.3, center=0.0):
    w = (center + scale * rng.standard_normal(shape)).astype(np.float32)
    if dtype == "BF16":
        bits = to_bf16_bits(w)
        stored[name] = ("BF16", bits)
        weights[name] = from_bf16_bits(bits).astype(np.float64)
    elif dtype == "F16":
        h = w.astype(np.float16)
        stored[name] = ("F16", h)
        weights[name] = h.astype(np.float64)
    else:
        stored[name] = ("F32", w)
        weights[name] = w.astype(np.float64)


add("model.embed_tokens.weight", (V, D), "BF16", scale=1.0)
for l in range(L):
    pre = f"model.layers.{l}."
    add(pre + "input_layernorm.weight", (D,), "F32", scale=0.2, center=1.0)
    add(pre + "self_attn.q_proj.weight", (H * HD, D), "F16")
    add(pre + "self_attn.k_proj.weight", (KV * HD, D), "BF16")
    add(pre + "self_attn.v_proj.weight", (KV * HD, D), "F32")
    add(pre + "self_attn.o_proj.weight", (D, H * HD), "F32")
    if QKV_BIAS:
        add(pre + "self_attn.q_proj.bias", (H * HD,), "BF16", scale=0.5)
        add(pre + "self_attn.k_proj.bias", (KV * HD,), "F32", scale=0.5)
        add(pre + "self_attn.v_proj.bias", (KV * HD,), "F16", scale=0.5)
    if O_BIAS:
        add(pre + "self_attn.o_proj.bias", (D,), "F32", scale=0.5)
    if QK_NORM:
        add(pre + "self_attn.q_norm.weight", (HD,), "BF16", scale=0.3, center=1.0)
        add(pre + "self_attn.k_norm.weight", (HD,), "F32", scale=0.3, center=1.0)
    add(pre + "post_attention_layernorm.weight", (D,), "F16", scale=0.2, center=1.0)
    add(pre + "mlp.gate_proj.weight", (I, D), "F32")
    add(pre + "mlp.up_proj.weight", (I, D), "BF16")
    add(pre + "mlp.down_proj.weight", (D, I), "F32")
add("model.norm.weight", (D,), "F32", scale=0.2, center=1.0)
if not args.tied:
    add("lm_head.weight", (V, D), "BF16", scale=0.5)
# A buffer some checkpoints carry; loaders must ignore it.
stored["model.layers.0.self_attn.rotary_emb.inv_freq"] = ("F32", np.ones(HD // 2, dtype=np.float32))
if args.extra_tensor:
    stored[args.extra_tensor] = ("F32", np.ones(3, dtype=np.float32))


def write_raw(path, entries):
    """A safetensors file written by hand (needed for BF16)."""
    header, blobs, offset = {"__metadata__": {"format": "pt"}}, [], 0
    for name, (dtype, arr) in entries.items():
        data = np.ascontiguousarray(arr).tobytes()
        header[name] = {"dtype": dtype, "shape": list(arr.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    with safe_open(path, framework="numpy") as f:  # the reference library accepts the file
        assert set(f.keys()) == set(entries)


if args.sharded:
    plain = {n: a for n, (d, a) in stored.items() if d != "BF16"}
    bf16 = {n: v for n, v in stored.items() if v[0] == "BF16"}
    save_file(plain, os.path.join(args.out, "model-00001-of-00002.safetensors"), metadata={"format": "pt"})
    write_raw(os.path.join(args.out, "model-00002-of-00002.safetensors"), bf16)
    index = {"metadata": {"total_size": 0},
             "weight_map": {**{n: "model-00001-of-00002.safetensors" for n in plain},
                            **{n: "model-00002-of-00002.safetensors" for n in bf16}}}
    with open(os.path.join(args.out, "model.safetensors.index.json"), "w") as f:
        json.dump(index, f, indent=2)
else:
    write_raw(os.path.join(args.out, "model.safetensors"), stored)
with open(os.path.join(args.out, "config.json"), "w") as f:
    json.dump(config, f, indent=2)

# ---- independent float64 forward (HF modelling equations of the four families) ----
W = weights


def rmsnorm(x, w):
    return x / np.sqrt((x * x).mean(-1, keepdims=True) + EPS) * w


inv_freq = 1.0 / THETA ** (np.arange(0, HD, 2, dtype=np.float64) / HD)
if args.rope_scaling == "llama3":
    rs = config["rope_scaling"]
    old, lo, hi, factor = rs["original_max_position_embeddings"], rs["low_freq_factor"], rs["high_freq_factor"], rs["factor"]
    wavelen = 2 * np.pi / inv_freq
    scaled = np.where(wavelen > old / lo, inv_freq / factor, inv_freq)
    smooth = (old / wavelen - lo) / (hi - lo)
    smoothed = (1 - smooth) * scaled / factor + smooth * scaled
    medium = ~(wavelen < old / hi) & ~(wavelen > old / lo)
    inv_freq = np.where(medium, smoothed, scaled)


def rope(x, T):  # x [T, heads, HD]
    ang = np.arange(T, dtype=np.float64)[:, None] * inv_freq[None, :]
    emb = np.concatenate([ang, ang], -1)
    cos, sin = np.cos(emb)[:, None, :], np.sin(emb)[:, None, :]
    rot = np.concatenate([-x[..., HD // 2:], x[..., : HD // 2]], -1)
    return x * cos + rot * sin


def forward(ids):
    T = len(ids)
    x = W["model.embed_tokens.weight"][ids]
    for l in range(L):
        pre = f"model.layers.{l}."
        h = rmsnorm(x, W[pre + "input_layernorm.weight"])
        q = h @ W[pre + "self_attn.q_proj.weight"].T
        k = h @ W[pre + "self_attn.k_proj.weight"].T
        v = h @ W[pre + "self_attn.v_proj.weight"].T
        if QKV_BIAS:
            q = q + W[pre + "self_attn.q_proj.bias"]
            k = k + W[pre + "self_attn.k_proj.bias"]
            v = v + W[pre + "self_attn.v_proj.bias"]
        q, k, v = q.reshape(T, H, HD), k.reshape(T, KV, HD), v.reshape(T, KV, HD)
        if QK_NORM:  # Qwen3: RMSNorm over each head's vector, before RoPE
            q = rmsnorm(q, W[pre + "self_attn.q_norm.weight"])
            k = rmsnorm(k, W[pre + "self_attn.k_norm.weight"])
        q, k = rope(q, T), rope(k, T)
        k = np.repeat(k, H // KV, axis=1)  # HF repeat_kv: head h uses KV head h // (H/KV)
        v = np.repeat(v, H // KV, axis=1)
        s = np.einsum("thd,shd->hts", q, k) / np.sqrt(HD)
        s = s + np.triu(np.full((T, T), -np.inf), 1)[None]
        pr = np.exp(s - s.max(-1, keepdims=True))
        pr /= pr.sum(-1, keepdims=True)
        att = np.einsum("hts,shd->thd", pr, v).reshape(T, H * HD)
        x = x + att @ W[pre + "self_attn.o_proj.weight"].T
        if O_BIAS:
            x = x + W[pre + "self_attn.o_proj.bias"]
        h = rmsnorm(x, W[pre + "post_attention_layernorm.weight"])
        g = h @ W[pre + "mlp.gate_proj.weight"].T
        u = h @ W[pre + "mlp.up_proj.weight"].T
        x = x + (g / (1 + np.exp(-g)) * u) @ W[pre + "mlp.down_proj.weight"].T
    x = rmsnorm(x, W["model.norm.weight"])
    head = W["model.embed_tokens.weight"] if args.tied else W["lm_head.weight"]
    return x @ head.T


B, T = 2, 9
tokens = rng.integers(0, V, size=(B, T))
logits = np.stack([forward(row) for row in tokens])
# Summed next-token NLL of each row (positions 0..T-2 predict 1..T-1), as `score` reports it.
shifted = logits - logits.max(-1, keepdims=True)
logp = shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))
nll = float(-sum(logp[b, t, tokens[b, t + 1]] for b in range(B) for t in range(T - 1)))
with open(os.path.join(args.out, "expected.json"), "w") as f:
    json.dump({"batch": B, "seq": T, "tokens": tokens.reshape(-1).tolist(),
               "logits": [float(v) for v in logits.reshape(-1)], "nll": nll}, f)
