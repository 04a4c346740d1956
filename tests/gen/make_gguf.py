#!/usr/bin/env python3
"""Writes the GGUF test file of tests/test_gguf.c with the reference tools:
gguf-py's GGUFWriter (PyPI package `gguf`) for the file, gguf-py's own
quantizer (gguf.quants.quantize) for the Q4_0 / Q8_0 / Q4_1 blocks and its
dequantizer for the expected values. clq is not involved, so the reader is
checked against what another implementation wrote.

Usage: make_gguf.py OUTDIR

OUTDIR receives
  clq_py.gguf           the file (GGUF v3, general.alignment 64)
  <tensor>.bin          the exact bytes handed to the writer for each tensor
  <tensor>.dequant.f32  gguf.quants.dequantize of those bytes (float32, row-major)

The metadata values and tensor shapes below are repeated in test_gguf.c:
change both together.
"""
import os
import sys

import numpy as np
import gguf
from gguf import GGMLQuantizationType as T, GGUFValueType as V

ALIGNMENT = 64

# key suffix -> (value type, value); every scalar type, strings (one empty,
# one non-ASCII) and arrays of every element type.
SCALARS = [
    ("u8", V.UINT8, 200),
    ("i8", V.INT8, -100),
    ("u16", V.UINT16, 60000),
    ("i16", V.INT16, -30000),
    ("u32", V.UINT32, 4000000000),
    ("i32", V.INT32, -2000000000),
    ("u64", V.UINT64, 2**63 + 5),
    ("i64", V.INT64, -(2**62) - 3),
    ("f32", V.FLOAT32, 3.14159),
    ("f64", V.FLOAT64, -2.718281828459045),
    ("bool_true", V.BOOL, True),
    ("bool_false", V.BOOL, False),
    ("str", V.STRING, "h\u00e9llo w\u00f6rld"),
    ("empty_str", V.STRING, ""),
]
ARRAYS = [
    ("arr_u8", V.UINT8, [0, 1, 255]),
    ("arr_i8", V.INT8, [-128, 0, 127]),
    ("arr_u16", V.UINT16, [0, 65535]),
    ("arr_i16", V.INT16, [-32768, 32767]),
    ("arr_u32", V.UINT32, [0, 4294967295]),
    ("arr_i32", V.INT32, [-1, 0, 7]),
    ("arr_u64", V.UINT64, [0, 2**64 - 1]),
    ("arr_i64", V.INT64, [-(2**63), 2**63 - 1]),
    ("arr_f32", V.FLOAT32, [0.5, -1.25, 1e10]),
    ("arr_f64", V.FLOAT64, [0.1, -1e300]),
    ("arr_bool", V.BOOL, [True, False, True]),
    ("arr_str", V.STRING, ["alpha", "", "\u00fcn\u00efcode"]),
]


def matrix(rng, rows, cols):
    """Normal values (sigma 0.05) with the rows the formats must survive, as
    tests/data/README.md describes for the ggml vectors."""
    x = rng.normal(0.0, 0.05, size=(rows, cols)).astype(np.float32)
    x[0] = 0.0
    x[1] = rng.normal(0.0, 0.01, size=cols)
    x[1, cols // 3] = 1000.0
    x[2] = 0.125
    x[3] = -np.abs(x[3]) - 1e-4
    x[4] = rng.normal(0.0, 1e-30, size=cols)
    x[5] = ((np.arange(cols) % 17) - 8) * 0.25
    return x


def tensors():
    rng = np.random.RandomState(7)
    out = []  # (name, bytes array for the writer, ggml type, dequantized float32)
    for name, qtype, shape in [("blk.0.ffn_up.weight", T.Q4_0, (24, 96)),
                               ("blk.0.ffn_down.weight", T.Q8_0, (20, 128)),
                               ("blk.0.attn_k.weight", T.Q4_1, (6, 64))]:
        raw = gguf.quants.quantize(matrix(rng, *shape), qtype)
        out.append((name, raw, qtype, gguf.quants.dequantize(raw, qtype)))
    half = matrix(rng, 8, 64).astype(np.float16)
    out.append(("blk.0.attn_q.weight", half, T.F16, gguf.quants.dequantize(half, T.F16)))
    vector = (np.float32(1) + np.float32(0.5) * np.arange(128, dtype=np.float32)).astype(np.float32)
    out.append(("output_norm.weight", vector, T.F32, vector))
    stack = rng.normal(0.0, 1.0, size=(2, 3, 32)).astype(np.float32)
    out.append(("blk.0.experts.weight", stack, T.F32, stack))
    return out


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    outdir = sys.argv[1]
    os.makedirs(outdir, exist_ok=True)
    writer = gguf.GGUFWriter(os.path.join(outdir, "clq_py.gguf"), "clqpy")
    writer.add_name("clq gguf-py test")
    writer.add_custom_alignment(ALIGNMENT)
    for suffix, vtype, value in SCALARS:
        writer.add_key_value("clqpy." + suffix, value, vtype)
    for suffix, vtype, value in ARRAYS:
        writer.add_key_value("clqpy." + suffix, value, V.ARRAY, sub_type=vtype)
    for name, raw, qtype, dequant in tensors():
        if qtype in (T.F16, T.F32):
            writer.add_tensor(name, raw)
        else:
            writer.add_tensor(name, raw, raw_dtype=qtype)
        with open(os.path.join(outdir, name + ".bin"), "wb") as f:
            f.write(raw.tobytes())
        with open(os.path.join(outdir, name + ".dequant.f32"), "wb") as f:
            f.write(np.ascontiguousarray(dequant, dtype=np.float32).tobytes())
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


if __name__ == "__main__":
    main()
