#!/usr/bin/env python3
"""Writes a random tiny Llama in Hugging Face format and the logits of an independent numpy
forward pass (float64, HF LlamaForCausalLM semantics) for the Swift engine to match.

usage: tiny_llama_reference.py OUT_DIR [--seed N] [--tied] [--sharded] [--rope-scaling llama3] [--vocab V]

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
args = p.parse_args()
rng = np.random.default_rng(args.seed)
os.makedirs(args.out, exist_ok=True)

V, D, H, KV, HD, I, L = args.vocab, 24, 4, 2, 8, 40, 2
EPS, THETA = 1e-5, 500.0
config = {
    "architectures": ["LlamaForCausalLM"], "model_type": "llama", "torch_dtype": "bfloat16",
    "hidden_size": D, "intermediate_size": I, "num_hidden_layers": L, "num_attention_heads": H,
    "num_key_value_heads": KV, "head_dim": HD, "vocab_size": V, "rms_norm_eps": EPS,
    "rope_theta": THETA, "tie_word_embeddings": args.tied, "max_position_embeddings": 64,
    "hidden_act": "silu", "attention_bias": False, "initializer_range": 0.02,
    "bos_token_id": 1, "eos_token_id": [2, 3], "some_future_key": {"nested": True},
}
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
    add(pre + "post_attention_layernorm.weight", (D,), "F16", scale=0.2, center=1.0)
    add(pre + "mlp.gate_proj.weight", (I, D), "F32")
    add(pre + "mlp.up_proj.weight", (I, D), "BF16")
    add(pre + "mlp.down_proj.weight", (D, I), "F32")
add("model.norm.weight", (D,), "F32", scale=0.2, center=1.0)
if not args.tied:
    add("lm_head.weight", (V, D), "BF16", scale=0.5)
# A buffer some checkpoints carry; loaders must ignore it.
stored["model.layers.0.self_attn.rotary_emb.inv_freq"] = ("F32", np.ones(HD // 2, dtype=np.float32))


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

# ---- independent float64 forward (HF LlamaForCausalLM semantics) ----
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
        q = (h @ W[pre + "self_attn.q_proj.weight"].T).reshape(T, H, HD)
        k = (h @ W[pre + "self_attn.k_proj.weight"].T).reshape(T, KV, HD)
        v = (h @ W[pre + "self_attn.v_proj.weight"].T).reshape(T, KV, HD)
        q, k = rope(q, T), rope(k, T)
        k = np.repeat(k, H // KV, axis=1)  # HF repeat_kv: head h uses KV head h // (H/KV)
        v = np.repeat(v, H // KV, axis=1)
        s = np.einsum("thd,shd->hts", q, k) / np.sqrt(HD)
        s = s + np.triu(np.full((T, T), -np.inf), 1)[None]
        pr = np.exp(s - s.max(-1, keepdims=True))
        pr /= pr.sum(-1, keepdims=True)
        att = np.einsum("hts,shd->thd", pr, v).reshape(T, H * HD)
        x = x + att @ W[pre + "self_attn.o_proj.weight"].T
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
with open(os.path.join(args.out, "expected.json"), "w") as f:
    json.dump({"batch": B, "seq": T, "tokens": tokens.reshape(-1).tolist(),
               "logits": [float(v) for v in logits.reshape(-1)]}, f)
