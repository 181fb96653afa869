"""Writes a GGUF file with one tensor per ggml type and, next to it, the values the PyPI `gguf`
package's own dequantiser gives for each (raw little-endian float32, one file per tensor).

Types gguf can quantise (F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0) are quantised from random
normal data, with one row of zeros and one of extreme magnitudes; the K types are random valid
block bytes (finite scales), since the package only dequantises those. Rows: 1, 7 and 33.

Usage: python3 gguf_quant_fixture.py OUT_FOLDER
"""
import os, sys
import numpy as np
import gguf
from gguf import GGMLQuantizationType as T

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(7)
w = gguf.GGUFWriter(os.path.join(out, "quants.gguf"), "llama")
w.add_string("test.note", "dequantisation fixtures")
names = []

def add(name, data, qtype, cols):
    w.add_tensor(name, data, raw_dtype=qtype)
    deq = gguf.quants.dequantize(data, qtype).astype(np.float32).reshape(-1)
    deq.tofile(os.path.join(out, name + ".f32"))
    names.append(name)

for rows in (1, 7, 33):
    cols = 512
    x = rng.standard_normal((rows, cols)).astype(np.float32)
    if rows > 1:
        x[0] = 0                                   # an all-zero row
        x[1] *= 6.0e4 / np.abs(x[1]).max()         # near the f16 limit
    for t in (T.F16, T.BF16, T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1, T.Q8_0):
        add(f"{t.name.lower()}.r{rows}", gguf.quants.quantize(x, t), t, cols)
    for t in (T.Q2_K, T.Q3_K, T.Q4_K, T.Q5_K, T.Q6_K):
        block_size, type_size = gguf.GGML_QUANT_SIZES[t]
        nblocks = rows * cols // block_size
        raw = rng.integers(0, 256, size=(nblocks, type_size), dtype=np.uint8)
        # Finite f16 scales (d, dmin) where each layout keeps them; the first block all zero.
        scale_at = {T.Q2_K: [80, 82], T.Q3_K: [108], T.Q4_K: [0, 2], T.Q5_K: [0, 2], T.Q6_K: [208]}[t]
        for off in scale_at:
            raw[:, off:off + 2] = rng.uniform(-2, 2, size=nblocks).astype(np.float16).view(np.uint8).reshape(nblocks, 2)
        raw[0] = 0
        add(f"{t.name.lower()}.r{rows}", raw.reshape(rows, -1), t, cols)
w.write_header_to_file()
w.write_kv_data_to_file()
w.write_tensors_to_file()
w.close()
with open(os.path.join(out, "names.txt"), "w") as f:
    f.write("\n".join(names) + "\n")
