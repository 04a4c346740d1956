#!/usr/bin/env python3
"""Markdown tables for BENCHMARKS.md from the CSVs of `clq bench --csv`.

    tools/bench_tables.py [--m LIST] [--lora LIST] [--shape NxK] FILE.csv [FILE.csv ...]

prints, for each device, one table of the fused matmul rows (per shape, M,
LoRA and weight: clq fused with GB/s, GFLOP/s, the fraction of the bench's
roofline probe and the +lora overhead, the CLBlast fp32 baseline, SGEMV at
M = 1 and SGEMM above, and the unfused path, clq dequantize then CLBlast),
then one table of the quantize and dequantize rows. Rows of several CSVs
(several runs) are listed one after another, each with its own run's
probe. Filters: --m 1,16,512 keeps those M; --lora 0,16,16x8 keeps those
LoRA columns (0: none, 16: one adapter of rank 16, 16x8: eight of them;
"16 f16" for fp16 adapters); --shape keeps one
N x K (repeatable). Standard library only, so it runs wherever the
benchmark does; CSVs without the newer columns (double_quant, lora_dtype,
lora_overhead) read as single-quantized, fp32 adapters, no +lora.
"""
import argparse
import csv


def fmt_time(us):
    us = float(us)
    if us >= 1e6:
        return f"{us / 1e6:.2f} s"
    if us >= 1e3:
        return f"{us / 1e3:.2f} ms"
    return f"{us:.0f} µs"


def pct(x):
    return f"{100 * float(x):.1f}%" if x not in (None, "") else "-"


def lora_name(row):
    """'-', '16', '16×8', with ' f16' for fp16 adapters."""
    r, a = int(row["rank"]), int(row["adapters"])
    if r == 0:
        return "-"
    name = f"{r}×{a}" if a > 1 else str(r)
    return name + (" f16" if row.get("lora_dtype") == "f16" else "")


def lora_filter_name(row):
    """lora_name as --lora spells it: '0' for none, 'x' for '×'."""
    name = lora_name(row).replace("×", "x")
    return "0" if name == "-" else name


def weight(row):
    """nf4/64, or nf4-dq/64 when double-quantized."""
    dq = row.get("double_quant") == "1"
    return f"{row['format']}{'-dq' if dq else ''}/{row['block']}"


def shape(row):
    return f"{row['n']}×{row['k']}"


def span(values, unit, digits):
    lo, hi = min(values), max(values)
    return f"{lo:.{digits}f} {unit}" if f"{lo:.{digits}f}" == f"{hi:.{digits}f}" else \
        f"{lo:.{digits}f}–{hi:.{digits}f} {unit}"


def matmul_table(rows, wanted_m, wanted_lora):
    fused = [r for r in rows if r["path"].startswith("fused")
             and (not wanted_m or r["m"] in wanted_m)
             and (not wanted_lora or lora_filter_name(r) in wanted_lora)]
    if not fused:
        return
    print("| shape | M | LoRA | weight | clq fused | GB/s | GFLOP/s | of probe | +lora "
          "| CLBlast fp32 | of probe | vs CLBlast | dequant + CLBlast |")
    print("|---|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    key = lambda r: (int(r["n"]), int(r["k"]), int(r["m"]), int(r["rank"]), int(r["adapters"]),
                     r.get("lora_dtype") or "", r["_run"])
    for f in sorted(fused, key=lambda r: key(r) + (weight(r),)):
        same = [r for r in rows if key(r)[:5] == key(f)[:5] and r["_run"] == f["_run"]]
        base = next((r for r in same if r["impl"] == "clblast"), None)
        unfused = next((r for r in same if r["impl"] == "clq+clblast" and weight(r) == weight(f)
                        and (r.get("lora_dtype") or "") == (f.get("lora_dtype") or "")), None)
        ratio = f"{float(base['median_us']) / float(f['median_us']):.1f}×" if base else "-"
        overhead = f.get("lora_overhead") or ""
        print(f"| {shape(f)} | {f['m']} | {lora_name(f)} | {weight(f)} | {fmt_time(f['median_us'])} "
              f"| {float(f['gbps']):.1f} | {float(f['gflops']):.1f} | {pct(f['roofline_fraction'])} "
              f"| {f'{100 * float(overhead):+.1f}%' if overhead else '-'} "
              f"| {fmt_time(base['median_us']) + ' (' + base['path'] + ')' if base else '-'} "
              f"| {pct(base['roofline_fraction']) if base else '-'} | {ratio} "
              f"| {fmt_time(unfused['median_us']) if unfused else '-'} |")
    print()


def codec_table(rows):
    codec = [r for r in rows if r["op"] in ("quantize", "dequantize")]
    if not codec:
        return
    print("| op | shape | weight | median | GB/s | of probe |")
    print("|---|---|---|---:|---:|---:|")
    for r in codec:
        print(f"| {r['op']} | {shape(r)} | {weight(r)} | {fmt_time(r['median_us'])} "
              f"| {float(r['gbps']):.1f} | {pct(r['roofline_fraction'])} |")
    print()


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("csv", nargs="+", help="CSV files of clq bench --csv")
    p.add_argument("--m", help="M values to keep, e.g. 1,16,512")
    p.add_argument("--lora", help="LoRA columns to keep, e.g. '0,16,16x8,16 f16'")
    p.add_argument("--shape", action="append", help="an N x K to keep (repeatable)")
    args = p.parse_args()
    rows = []
    for run, path in enumerate(args.csv):
        with open(path, newline="") as f:
            for r in csv.DictReader(f):
                r["_run"] = run
                rows.append(r)
    if args.shape:
        rows = [r for r in rows if f"{r['n']}x{r['k']}" in args.shape]
    if not rows:
        raise SystemExit("no rows")
    wanted_m = set(args.m.split(",")) if args.m else None
    wanted_lora = {s.strip() for s in args.lora.split(",")} if args.lora else None
    for device in dict.fromkeys(r["device"] for r in rows):
        here = [r for r in rows if r["device"] == device]
        first = here[0]
        print(f"**{device}** ({first['platform']}, driver {first['driver_version']}, "
              f"clq {first['clq_version']}): the bench's probes read "
              f"{span([float(r['peak_read_gbps']) for r in here], 'GB/s', 1)} and "
              f"{span([float(r['peak_fma_gflops']) for r in here], 'GFLOP/s', 1)} fp32 FMA; "
              f"\"of probe\" is each row's fraction of its run's probe.\n")
        matmul_table([r for r in here if r["op"] == "matmul"], wanted_m, wanted_lora)
        codec_table(here)


if __name__ == "__main__":
    main()
