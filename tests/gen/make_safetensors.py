#!/usr/bin/env python3
"""Writes the safetensors test files of tests/test_safetensors.c with the
reference writer, PyPI's `safetensors` (its numpy API), and numpy. clq is not
involved, so the reader is checked against what another implementation
wrote.

Usage: make_safetensors.py DATADIR OUTDIR

DATADIR is tests/data (the peers' vectors). OUTDIR receives
  bnb.safetensors   one bitsandbytes Linear4bit layer per bnb-nf4-* / bnb-fp4-*
                    folder, with the keys bitsandbytes' QuantState.as_dict(packed=True)
                    writes: prefix "clq.<folder with '-' as '_'>" (e.g.
                    clq.bnb_nf4_b64_dq), tensors <prefix>.weight, .weight.absmax,
                    .weight.quant_map, .weight.nested_absmax, .weight.nested_quant_map and
                    .weight.quant_state.bitsandbytes__nf4 (or __fp4) holding the JSON;
                    plus plain tensors of other dtypes and a __metadata__
  <tensor>.bin      the exact bytes handed to the writer for each plain tensor

  peft-a, peft-b, peft-c   PEFT-shaped LoRA adapter folders (adapter_config.json and
                    adapter_model.safetensors, as PEFT's save_pretrained lays them out),
                    of F32, BF16 and F16 tensors, for modules
                    base_model.model.model.layers.{0,1}.self_attn.q_proj (N = 64, K = 256);
                    each also holds expected_a.f32 / expected_b.f32, layer 0's A and B
                    as fp32 values

The names and values below are repeated in test_safetensors.c and
test_peft.c: change both together.
"""
import json
import os
import sys

import numpy as np
from safetensors.numpy import save_file

# bitsandbytes functional.get_4bit_type: the list, then divided by its
# largest magnitude in float32 (torch's data.div_(data.abs().max())).
NF4 = [-1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453, -0.28444138169288635,
       -0.18477343022823334, -0.09105003625154495, 0.0, 0.07958029955625534, 0.16093020141124725,
       0.24611230194568634, 0.33791524171829224, 0.44070982933044434, 0.5626170039176941,
       0.7229568362236023, 1.0]
FP4 = [0, 0.0625, 8.0, 12.0, 4.0, 6.0, 2.0, 3.0, -0, -0.0625, -8.0, -12.0, -4.0, -6.0, -2.0, -3.0]


def code(values):
    data = np.array(values, dtype=np.float32)
    return data / np.abs(data).max()


def read_meta(folder):
    meta = {}
    with open(os.path.join(folder, "meta.txt")) as f:
        for line in f:
            if "=" in line:
                key, value = line.strip().split("=", 1)
                meta[key] = value
    return meta


def raw(folder, name, dtype):
    return np.fromfile(os.path.join(folder, name), dtype=dtype)


def bnb_layer(folder):
    """The tensors bitsandbytes saves for one Linear4bit layer."""
    meta = read_meta(folder)
    rows, cols, block = int(meta["rows"]), int(meta["cols"]), int(meta["block"])
    quant_type = meta["format"]
    state = {"quant_type": quant_type, "blocksize": block, "dtype": "float32", "shape": [rows, cols]}
    # Params4bit keeps the packed codes as a (n+1)//2 x 1 uint8 tensor.
    tensors = {"weight": raw(folder, "packed.u8", np.uint8).reshape(-1, 1),
               "weight.quant_map": code(NF4 if quant_type == "nf4" else FP4)}
    if meta.get("double_quant") == "1":
        tensors["weight.absmax"] = raw(folder, "absmax.u8", np.uint8)
        tensors["weight.nested_absmax"] = raw(folder, "nested_absmax.f32", np.float32)
        tensors["weight.nested_quant_map"] = raw(folder, "nested_code.f32", np.float32)
        state.update({"nested_blocksize": int(meta["nested_block"]), "nested_dtype": "float32",
                      "nested_offset": float(raw(folder, "offset.f32", np.float32)[0])})
    else:
        tensors["weight.absmax"] = raw(folder, "absmax.f32", np.float32)
    # bitsandbytes' pack_dict_to_tensor: the JSON's UTF-8 bytes as uint8.
    packed = np.frombuffer(json.dumps(state).encode("utf-8"), dtype=np.uint8)
    tensors["weight.quant_state.bitsandbytes__" + quant_type] = packed
    return tensors


def plain_tensors():
    rng = np.random.RandomState(5)
    w = rng.normal(0.0, 0.05, size=(12, 64)).astype(np.float32)
    bf16 = (w.view(np.uint32) >> 16).astype(np.uint16)  # the top halves: exact bf16 values
    return {
        "plain.f32": w,
        "plain.f16": w.astype(np.float16),
        "plain.bf16_bits": bf16,  # written as BF16 below
        "plain.i8": np.arange(-5, 5, dtype=np.int8).reshape(2, 5),
        "plain.i32": np.array([-2147483648, 0, 2147483647], dtype=np.int32),
        "plain.i64": np.array([[-(2**63)], [2**63 - 1]], dtype=np.int64),
        "plain.u8": np.array([1, 2, 3], dtype=np.uint8),
        "plain.scalar": np.array(2.5, dtype=np.float64),
        "plain.empty": np.zeros((0, 3), dtype=np.float32),
    }


def rename_dtype(path, names, old, new):
    """numpy has no bfloat16: such tensors are written as U16 and their dtype
    renamed in the header, which is padded again to a multiple of 8 with
    spaces as the writer pads it."""
    with open(path, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        header, data = f.read(n), f.read()
    for name in names:
        marker = ('"%s":{"dtype":"%s"' % (name, old)).encode()
        assert header.count(marker) == 1, header
        header = header.replace(marker, ('"%s":{"dtype":"%s"' % (name, new)).encode())
    header = header.rstrip(b" ")
    header += b" " * (-(8 + len(header)) % 8)
    with open(path, "wb") as f:
        f.write(len(header).to_bytes(8, "little") + header + data)


# name -> rank, alpha, use_rslora, dtype, seed, and config extras
PEFT_ADAPTERS = {
    "peft-a": dict(r=8, alpha=16, rslora=False, dtype="F32", seed=11, extra={}),
    "peft-b": dict(r=4, alpha=8, rslora=True, dtype="BF16", seed=12, extra={}),
    # layer 1 has its own rank and alpha (rank_pattern / alpha_pattern)
    "peft-c": dict(r=16, alpha=32.5, rslora=False, dtype="F16", seed=13,
                   extra={"rank_pattern": {"layers.1.self_attn.q_proj": 2},
                          "alpha_pattern": {"layers.1.self_attn.q_proj": 3.0}}),
}
PEFT_N, PEFT_K = 64, 256
MODULE = "base_model.model.model.layers.%d.self_attn.q_proj"


def write_peft(folder, adapter):
    os.makedirs(folder, exist_ok=True)
    rng = np.random.RandomState(adapter["seed"])
    tensors, bf16 = {}, []
    for layer in range(2):
        r = adapter["extra"].get("rank_pattern", {}).get("layers.%d.self_attn.q_proj" % layer, adapter["r"])
        a = rng.normal(0.0, 0.05, size=(r, PEFT_K)).astype(np.float32)
        b = rng.normal(0.0, 0.05, size=(PEFT_N, r)).astype(np.float32)
        for side, value in (("A", a), ("B", b)):
            name = MODULE % layer + ".lora_%s.weight" % side
            if adapter["dtype"] == "F16":
                value = value.astype(np.float16)
                exact = value.astype(np.float32)
            elif adapter["dtype"] == "BF16":
                value = (value.view(np.uint32) >> 16).astype(np.uint16)
                exact = (value.astype(np.uint32) << 16).view(np.float32)
                bf16.append(name)
            else:
                exact = value
            tensors[name] = value
            if layer == 0:
                exact.astype(np.float32).tofile(os.path.join(folder, "expected_%s.f32" % side.lower()))
    path = os.path.join(folder, "adapter_model.safetensors")
    save_file(tensors, path, metadata={"format": "pt"})
    if bf16:
        rename_dtype(path, bf16, "U16", "BF16")
    config = {"peft_type": "LORA", "task_type": "CAUSAL_LM", "base_model_name_or_path": "clq/test-model",
              "r": adapter["r"], "lora_alpha": adapter["alpha"], "lora_dropout": 0.05, "bias": "none",
              "fan_in_fan_out": False, "use_rslora": adapter["rslora"], "target_modules": ["q_proj"],
              "modules_to_save": None, "init_lora_weights": True, "rank_pattern": {}, "alpha_pattern": {}}
    config.update(adapter["extra"])
    with open(os.path.join(folder, "adapter_config.json"), "w") as f:
        json.dump(config, f, indent=2)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    data, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    tensors = {}
    for name in sorted(os.listdir(data)):
        if name.startswith("bnb-nf4-") or name.startswith("bnb-fp4-"):
            prefix = "clq." + name.replace("-", "_")
            for key, value in bnb_layer(os.path.join(data, name)).items():
                tensors[prefix + "." + key] = value
    plain = plain_tensors()
    for name, value in plain.items():
        with open(os.path.join(out, name + ".bin"), "wb") as f:
            f.write(np.ascontiguousarray(value).tobytes())
    tensors.update(plain)
    path = os.path.join(out, "bnb.safetensors")
    save_file(tensors, path, metadata={"format": "pt", "producer": "clq make_safetensors.py"})
    rename_dtype(path, ["plain.bf16_bits"], "U16", "BF16")
    for name, adapter in PEFT_ADAPTERS.items():
        write_peft(os.path.join(out, name), adapter)

if __name__ == "__main__":
    main()
