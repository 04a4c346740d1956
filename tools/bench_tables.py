#!/usr/bin/env python3
"""Markdown tables for BENCHMARKS.md from the CSV of `clq bench --csv`.

    tools/bench_tables.py results.csv [N K]

prints, for each device and the shape N x K (default: the first matmul
shape), one row per (M, LoRA, weight): clq fused, the CLBlast fp32 baseline
(SGEMV at M = 1, SGEMM above) and the unfused path, with GB/s, GFLOP/s and
roofline fractions, then the quantize and dequantize rows. Standard library
only, so it runs wherever the benchmark does.
"""
import csv
import sys


def fmt_time(us):
    us = float(us)
    if us >= 1e6:
        return f"{us / 1e6:.2f} s"
    if us >= 1e3:
        return f"{us / 1e3:.2f} ms"
    return f"{us:.0f} µs"


def lora_name(row):
    r, a = int(row["rank"]), int(row["adapters"])
    if r == 0:
        return "-"
    return f"{r}×{a}" if a > 1 else str(r)


def weight(row):
    """nf4/64, or nf4-dq/64 when double-quantized (CSVs from before that column have none)."""
    dq = row.get("double_quant") == "1"
    return f"{row['format']}{'-dq' if dq else ''}/{row['block']}"


def pct(x):
    return f"{100 * float(x):.1f}%"


def main():
    if len(sys.argv) not in (2, 4):
        sys.exit(__doc__)
    rows = list(csv.DictReader(open(sys.argv[1], newline="")))
    mm = [r for r in rows if r["op"] == "matmul"]
    if not mm:
        sys.exit("no matmul rows")
    n, k = (sys.argv[2], sys.argv[3]) if len(sys.argv) == 4 else (mm[0]["n"], mm[0]["k"])
    for device in dict.fromkeys(r["device"] for r in rows):
        here = [r for r in mm if r["device"] == device and r["n"] == n and r["k"] == k]
        print(f"**{device}**, {n}×{k}: roofline {float(here[0]['peak_read_gbps']):.1f} GB/s read, "
              f"{float(here[0]['peak_fma_gflops']):.1f} GFLOP/s fp32 FMA\n")
        print("| M | LoRA | weight | clq fused | GB/s | GFLOP/s | roofline | CLBlast fp32 | roofline "
              "| clq vs CLBlast | dequant + CLBlast |")
        print("|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        key = lambda r: (int(r["m"]), int(r["rank"]), int(r["adapters"]))
        for m, rank, adapters in sorted({key(r) for r in here}):
            group = [r for r in here if key(r) == (m, rank, adapters)]
            base = next((r for r in group if r["impl"] == "clblast"), None)
            for fused in (r for r in group if r["path"].startswith("fused")):
                unfused = next((r for r in group if r["impl"] == "clq+clblast" and weight(r) == weight(fused)),
                               None)
                ratio = f"{float(base['median_us']) / float(fused['median_us']):.2f}×" if base else "-"
                print(f"| {m} | {lora_name(fused)} | {weight(fused)} "
                      f"| {fmt_time(fused['median_us'])} | {float(fused['gbps']):.1f} "
                      f"| {float(fused['gflops']):.1f} | {pct(fused['roofline_fraction'])} "
                      f"| {fmt_time(base['median_us']) + ' (' + base['path'] + ')' if base else '-'} "
                      f"| {pct(base['roofline_fraction']) if base else '-'} | {ratio} "
                      f"| {fmt_time(unfused['median_us']) if unfused else '-'} |")
        codec = [r for r in rows if r["device"] == device and r["op"] in ("quantize", "dequantize")]
        if codec:
            print("\n| op | shape | weight | median | GB/s | roofline |")
            print("|---|---|---|---:|---:|---:|")
            for r in codec:
                print(f"| {r['op']} | {r['n']}×{r['k']} | {weight(r)} | {fmt_time(r['median_us'])} "
                      f"| {float(r['gbps']):.2f} | {pct(r['roofline_fraction'])} |")
        print()


if __name__ == "__main__":
    main()
