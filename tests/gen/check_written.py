#!/usr/bin/env python3
"""Reads the files clq's writers wrote (tests/test_writers.c) with the
reference Python packages, PyPI's `safetensors` and `gguf`, and checks
every byte against what clq exported (the *.export folders beside them,
in the folder convention of tests/data/README.md).

Usage: check_written.py WRITTEN_DIR
"""
import json
import os
import sys

import numpy as np
import gguf
from safetensors import safe_open

BNB = ["bnb-nf4-b32", "bnb-nf4-b128", "bnb-nf4-b64-dq", "bnb-fp4-b64", "bnb-fp4-b256", "bnb-fp4-b64-dq"]
NF4 = [-1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453, -0.28444138169288635,
       -0.18477343022823334, -0.09105003625154495, 0.0, 0.07958029955625534, 0.16093020141124725,
       0.24611230194568634, 0.33791524171829224, 0.44070982933044434, 0.5626170039176941,
       0.7229568362236023, 1.0]
FP4 = [0, 0.0625, 8.0, 12.0, 4.0, 6.0, 2.0, 3.0, -0, -0.0625, -8.0, -12.0, -4.0, -6.0, -2.0, -3.0]
# ggml's block types beyond q4_0 / q8_0, written by test_writers.c as blk.1.ggml-<type>-s11.weight
GGML_TYPES = ["q4_1", "q5_0", "q5_1", "q2_k", "q3_k", "q4_k", "q5_k", "q6_k", "iq4_nl", "iq4_xs"]
failures = []
passed = [0]


def check(ok, what):
    if ok:
        passed[0] += 1
    else:
        failures.append(what)


def meta(folder):
    with open(os.path.join(folder, "meta.txt")) as f:
        return dict(line.strip().split("=", 1) for line in f if "=" in line)


def raw(folder, name):
    with open(os.path.join(folder, name), "rb") as f:
        return f.read()


def check_bnb(written):
    with safe_open(os.path.join(written, "bnb.safetensors"), "np") as f:
        check(f.metadata() == {"format": "pt"}, "bnb.safetensors metadata")
        for k, name in enumerate(BNB):
            folder = os.path.join(written, name + ".export")
            m = meta(folder)
            p = "model.layers.%d.mlp.down_proj.weight" % k
            rows, cols, block = int(m["rows"]), int(m["cols"]), int(m["block"])
            dq = m.get("double_quant") == "1"
            w = f.get_tensor(p)
            check(w.dtype == np.uint8 and w.shape == (rows * cols // 2, 1), p + " shape")
            check(w.tobytes() == raw(folder, "packed.u8"), p + " bytes")
            absmax = f.get_tensor(p + ".absmax")
            check(absmax.tobytes() == raw(folder, "absmax.u8" if dq else "absmax.f32"), p + ".absmax bytes")
            check(absmax.dtype == (np.uint8 if dq else np.float32), p + ".absmax dtype")
            values = np.array(NF4 if m["format"] == "nf4" else FP4, dtype=np.float32)
            code = values / np.abs(values).max()
            check(f.get_tensor(p + ".quant_map").tobytes() == code.tobytes(), p + ".quant_map is the bnb code")
            state = json.loads(f.get_tensor(p + ".quant_state.bitsandbytes__" + m["format"]).tobytes())
            check(state["quant_type"] == m["format"] and state["blocksize"] == block, p + " state type/block")
            check(state["shape"] == [rows, cols], p + " state shape")
            check(state["dtype"] == ("bfloat16" if k == 2 else "float32"), p + " state dtype")
            if dq:
                check(f.get_tensor(p + ".nested_absmax").tobytes() == raw(folder, "nested_absmax.f32"),
                      p + ".nested_absmax")
                check(f.get_tensor(p + ".nested_quant_map").tobytes() == raw(folder, "nested_code.f32"),
                      p + ".nested_quant_map")
                offset = np.frombuffer(raw(folder, "offset.f32"), dtype=np.float32)[0]
                check(state["nested_blocksize"] == 256 and np.float32(state["nested_offset"]) == offset,
                      p + " nested state")
            else:
                check("nested_offset" not in state and p + ".nested_absmax" not in f.keys(), p + " not nested")
        check(f.get_tensor("model.norm.weight").tolist() == [1, 2, 3, 4], "model.norm.weight")


def field(reader, key):
    return reader.fields[key].contents()


def check_gguf(written):
    reader = gguf.GGUFReader(os.path.join(written, "model.gguf"))
    check(field(reader, "general.architecture") == "clq", "general.architecture")
    check(field(reader, "general.name") == "clq writer test", "general.name")
    check(field(reader, "general.alignment") == 64, "general.alignment")
    check(field(reader, "clq.block_count") == 2, "clq.block_count")
    check(field(reader, "clq.rope_freq_base") == np.float32(10000.5), "clq.rope_freq_base")
    tensors = {t.name: t for t in reader.tensors}
    quantized = [("blk.0.ffn_up.weight", "ggml-q4-b32", gguf.GGMLQuantizationType.Q4_0),
                 ("blk.0.ffn_down.weight", "ggml-q8-b32", gguf.GGMLQuantizationType.Q8_0)]
    for t in GGML_TYPES:
        quantized.append(("blk.1.ggml-%s-s11.weight" % t, "ggml-%s-s11" % t, gguf.GGMLQuantizationType[t.upper()]))
    for name, folder, qtype in quantized:
        t = tensors[name]
        folder = os.path.join(written, folder + ".export")
        m = meta(folder)
        check(t.tensor_type == qtype, name + " type")
        check(list(t.shape) == [int(m["cols"]), int(m["rows"])], name + " shape")
        check(t.data.tobytes() == raw(folder, "quant.bin"), name + " bytes")
        dequant = gguf.quants.dequantize(t.data, qtype)
        check(dequant.astype(np.float32).tobytes() == raw(folder, "dequant.f32"), name + " dequantized by gguf-py")
    norm = tensors["output_norm.weight"]
    check(norm.tensor_type == gguf.GGMLQuantizationType.F32, "output_norm type")
    check(norm.data.tolist() == [1.0 + 0.25 * i for i in range(96)], "output_norm values")
    q = tensors["blk.0.attn_q.weight"]
    check(q.tensor_type == gguf.GGMLQuantizationType.F16 and list(q.shape) == [32, 3], "attn_q type/shape")
    check(q.data.view(np.uint16).ravel().tolist() == [0x3C00 + i for i in range(96)], "attn_q values")


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    check_bnb(sys.argv[1])
    check_gguf(sys.argv[1])
    for f in failures:
        print("FAILED:", f)
    print("%d passed, %d failed" % (passed[0], len(failures)))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
