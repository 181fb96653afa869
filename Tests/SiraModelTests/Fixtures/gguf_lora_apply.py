"""Checks a llama.cpp GGUF LoRA adapter written by `sira-pipeline export --gguf-lora` against the
PEFT weights it came from, as llama.cpp's loader would see it, then folds it into the base.

Read with the PyPI `gguf` package's GGUFReader: general.type = adapter, adapter.type = lora,
adapter.lora.alpha (float32) = ALPHA, general.architecture = the base's; one `.lora_a`/`.lora_b`
pair per PEFT module, named by `gguf`'s own tensor-name map; every tensor F32; shapes as
llama-adapter.cpp checks them (a.ne[0] = base.ne[0], b.ne[1] = base.ne[1], a.ne[1] = b.ne[0]);
A equal to PEFT's lora_A, B equal to PEFT's lora_B with its rows permuted as llama.cpp's converter
permutes the base's Q/K rows (llama architecture only). Then writes OUT.gguf: the base's
dequantised weights with W + alpha/r * B @ A folded in (in the file's own row layout), and the
base's `<arch>.*` metadata, for the engine to load and score.

Usage: python3 gguf_lora_apply.py BASE.gguf LORA.gguf PEFT.safetensors ALPHA OUT.gguf
"""
import re, sys
import numpy as np
import gguf
from safetensors.numpy import load_file

base_path, lora_path, peft_path, alpha, out_path = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4]), sys.argv[5]
base, lora = gguf.GGUFReader(base_path), gguf.GGUFReader(lora_path)

def field(r, key):
    f = r.fields[key]
    return f.contents()

arch = field(base, "general.architecture")
assert field(lora, "general.architecture") == arch, (field(lora, "general.architecture"), arch)
assert field(lora, "general.type") == "adapter"
assert field(lora, "adapter.type") == "lora"
af = lora.fields["adapter.lora.alpha"]
assert af.types == [gguf.GGUFValueType.FLOAT32], af.types
assert abs(field(lora, "adapter.lora.alpha") - alpha) <= 1e-6 * alpha

n_heads = int(field(base, f"{arch}.attention.head_count"))
n_kv = int(field(base, f"{arch}.attention.head_count_kv"))
n_blocks = int(field(base, f"{arch}.block_count"))
names = gguf.get_tensor_name_map({v: k for k, v in gguf.MODEL_ARCH_NAMES.items()}[arch], n_blocks)

def permute(x, n_head):
    return x.reshape(n_head, 2, x.shape[0] // n_head // 2, *x.shape[1:]).swapaxes(1, 2).reshape(x.shape)

peft = load_file(peft_path)
expected = {}
for k, v in peft.items():
    m = re.fullmatch(r"base_model\.model\.(.+)\.lora_([AB])\.weight", k)
    assert m, k
    target = names.get_name(m.group(1) + ".weight", try_suffixes=(".weight",))
    assert target, m.group(1)
    if m.group(2) == "B" and arch == "llama" and m.group(1).endswith("q_proj"): v = permute(v, n_heads)
    if m.group(2) == "B" and arch == "llama" and m.group(1).endswith("k_proj"): v = permute(v, n_kv)
    expected[target + (".lora_a" if m.group(2) == "A" else ".lora_b")] = v

got = {t.name: t for t in lora.tensors}
assert set(got) == set(expected), (sorted(set(got) ^ set(expected)))
for name, t in got.items():
    assert t.tensor_type == gguf.GGMLQuantizationType.F32, (name, t.tensor_type)
    arr = np.asarray(t.data).reshape(tuple(reversed([int(d) for d in t.shape])))
    assert arr.shape == expected[name].shape, (name, arr.shape, expected[name].shape)
    assert np.array_equal(arr, expected[name]), name

base_tensors = {t.name: t for t in base.tensors}
def dequant(t):
    shape = tuple(reversed([int(d) for d in t.shape]))
    return np.asarray(gguf.quants.dequantize(t.data, t.tensor_type), dtype=np.float64).reshape(shape)

merged = {name: dequant(t) for name, t in base_tensors.items()}
for name in got:
    if not name.endswith(".lora_a"): continue
    target = name[: -len(".lora_a")]
    a, b = got[name], got[target + ".lora_b"]
    w = base_tensors[target]
    assert w.shape[0] == a.shape[0] and w.shape[1] == b.shape[1] and a.shape[1] == b.shape[0], (target, w.shape, a.shape, b.shape)
    A, B = expected[name].astype(np.float64), expected[target + ".lora_b"].astype(np.float64)
    merged[target] = merged[target] + alpha / A.shape[0] * (B @ A)

g = gguf.GGUFWriter(out_path, arch)
for key, f in base.fields.items():
    if key.startswith(arch + "."):
        g.add_key_value(key, f.contents(), f.types[0])
for name, x in merged.items():
    g.add_tensor(name, x.astype(np.float32))
g.write_header_to_file(); g.write_kv_data_to_file(); g.write_tensors_to_file(); g.close()
