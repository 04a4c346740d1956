/*
 * Repacking between the external layouts users bring (ggml, bitsandbytes,
 * ONNX Runtime) and clq's device layout (clq_common.h), and plain 4-bit
 * pack/unpack. Pure bit movement: every kernel here has an exact inverse, so
 * import followed by export gives back the same bytes.
 *
 * The ggml blocks are 18 or 34 bytes, so their fp16 scale is not 2-byte
 * aligned: it is assembled from two bytes (little-endian, as GGUF stores it).
 */

/* ggml Q4_0 -> device: one work-item per 32-element block. ggml byte j holds
 * elements j (low) and j+16 (high); the device holds 2i (low) and 2i+1 (high). */
kernel void clq_ggml_q4_0_to_device(global const uchar *blocks, uint nblocks, uint cols, global uchar *quants,
                                    global ushort *scales)
{
    uint g = get_global_id(0);
    if (g >= nblocks)
        return;
    uint row = (uint)((ulong)g * CLQ_GGML_QK / cols), k0 = (uint)((ulong)g * CLQ_GGML_QK % cols);
    global const uchar *b = blocks + (ulong)g * CLQ_GGML_Q4_0_BYTES;
    scales[g] = (ushort)(b[0] | b[1] << 8);
    global const uchar *qs = b + 2;
    for (uint i = 0; i < CLQ_GGML_QK / 2; i++) {
        uint e0 = 2 * i, e1 = 2 * i + 1; /* device elements of byte i */
        uint v0 = e0 < 16 ? qs[e0] & 15u : qs[e0 - 16] >> 4;
        uint v1 = e1 < 16 ? qs[e1] & 15u : qs[e1 - 16] >> 4;
        quants[tile_byte(row, k0 + e0, cols, 4)] = (uchar)(v0 | v1 << 4);
    }
}

kernel void clq_device_to_ggml_q4_0(global const uchar *quants, global const ushort *scales, uint nblocks,
                                    uint cols, global uchar *blocks)
{
    uint g = get_global_id(0);
    if (g >= nblocks)
        return;
    uint row = (uint)((ulong)g * CLQ_GGML_QK / cols), k0 = (uint)((ulong)g * CLQ_GGML_QK % cols);
    global uchar *b = blocks + (ulong)g * CLQ_GGML_Q4_0_BYTES;
    ushort d = scales[g];
    b[0] = (uchar)(d & 0xff);
    b[1] = (uchar)(d >> 8);
    for (uint j = 0; j < CLQ_GGML_QK / 2; j++) {
        uint lo = (quants[tile_byte(row, k0 + (j & ~1u), cols, 4)] >> (4 * (j & 1))) & 15u; /* element j */
        uint hi = (quants[tile_byte(row, k0 + 16 + (j & ~1u), cols, 4)] >> (4 * (j & 1))) & 15u; /* j+16 */
        b[2 + j] = (uchar)(lo | hi << 4);
    }
}

/* ggml Q8_0 <-> device: the int8 values keep their order. */
kernel void clq_ggml_q8_0_to_device(global const uchar *blocks, uint nblocks, uint cols, global uchar *quants,
                                    global ushort *scales)
{
    uint g = get_global_id(0);
    if (g >= nblocks)
        return;
    uint row = (uint)((ulong)g * CLQ_GGML_QK / cols), k0 = (uint)((ulong)g * CLQ_GGML_QK % cols);
    global const uchar *b = blocks + (ulong)g * CLQ_GGML_Q8_0_BYTES;
    scales[g] = (ushort)(b[0] | b[1] << 8);
    for (uint j = 0; j < CLQ_GGML_QK; j++)
        quants[tile_byte(row, k0 + j, cols, 8)] = b[2 + j];
}

kernel void clq_device_to_ggml_q8_0(global const uchar *quants, global const ushort *scales, uint nblocks,
                                    uint cols, global uchar *blocks)
{
    uint g = get_global_id(0);
    if (g >= nblocks)
        return;
    uint row = (uint)((ulong)g * CLQ_GGML_QK / cols), k0 = (uint)((ulong)g * CLQ_GGML_QK % cols);
    global uchar *b = blocks + (ulong)g * CLQ_GGML_Q8_0_BYTES;
    ushort d = scales[g];
    b[0] = (uchar)(d & 0xff);
    b[1] = (uchar)(d >> 8);
    for (uint j = 0; j < CLQ_GGML_QK; j++)
        b[2 + j] = quants[tile_byte(row, k0 + j, cols, 8)];
}

/* Row-major data (bitsandbytes, ONNX Runtime: each row's bytes in order)
 * <-> the device's row tiles. A 32-bit word of row-major data is always one
 * device word (rows have a multiple of 8 4-bit or 4 8-bit elements), so this
 * is a permutation of words; `swap` also exchanges the nibbles of every byte
 * for bitsandbytes' 4-bit data, which puts element 2i in the high nibble.
 * The masks keep LLVM from turning the byte rotate into llvm.fshl, which
 * oclgrind cannot run. One work-item per word. */
inline uint swap_nibbles(uint w, uint swap)
{
    return swap ? (w & 0x0f0f0f0fu) << 4 | (w >> 4 & 0x0f0f0f0fu) : w;
}

inline ulong device_word_of(ulong i, uint cols, uint bits)
{
    ulong row_words = cols / CLQ_WORD_ELEMENTS(bits);
    return tile_word((uint)(i / row_words), (uint)(i % row_words) * CLQ_WORD_ELEMENTS(bits), cols, bits);
}

kernel void clq_rows_to_device(global const uint *src, ulong nwords, uint cols, uint bits, uint swap,
                               global uint *quants)
{
    ulong i = get_global_id(0);
    if (i >= nwords)
        return;
    quants[device_word_of(i, cols, bits)] = swap_nibbles(src[i], swap);
}

kernel void clq_device_to_rows(global const uint *quants, ulong nwords, uint cols, uint bits, uint swap,
                               global uint *dst)
{
    ulong i = get_global_id(0);
    if (i >= nwords)
        return;
    dst[i] = swap_nibbles(quants[device_word_of(i, cols, bits)], swap);
}

/* ONNX Runtime zero points, two per byte (low nibble first) with each row
 * padded to whole bytes, <-> one per byte on the device. One work-item per
 * (row, block). A row's padding nibble is ignored on import and written as 0. */
kernel void clq_ort_zeros_to_device(global const uchar *packed, uint rows, uint nb, global uchar *zeros)
{
    ulong i = get_global_id(0);
    if (i >= (ulong)rows * nb)
        return;
    ulong row = i / nb, j = i % nb, row_bytes = (nb + 1) / 2;
    uchar b = packed[row * row_bytes + j / 2];
    zeros[i] = (uchar)((j & 1) ? b >> 4 : b & 15u);
}

kernel void clq_device_to_ort_zeros(global const uchar *zeros, uint rows, uint nb, global uchar *packed)
{
    ulong i = get_global_id(0); /* one work-item per packed byte */
    ulong row_bytes = (nb + 1) / 2;
    if (i >= (ulong)rows * row_bytes)
        return;
    ulong row = i / row_bytes, j = 2 * (i % row_bytes);
    uint lo = zeros[row * nb + j];
    uint hi = j + 1 < nb ? zeros[row * nb + j + 1] : 0u;
    packed[i] = (uchar)(lo | hi << 4);
}

/* Packs values 0..15 (one per byte) two per byte. order 1: element 2i in the
 * low nibble; 2: in the high nibble. A value above 15 records the lowest
 * offending pair in *first_bad. */
kernel void clq_pack4(global const uchar *src, ulong npairs, uint order, global uchar *dst,
                      volatile global uint *first_bad)
{
    ulong p = get_global_id(0);
    if (p >= npairs)
        return;
    uint a = src[2 * p], b = src[2 * p + 1];
    if ((a | b) > 15u) {
        atomic_min(first_bad, (uint)min(p, (ulong)UINT_MAX));
        return;
    }
    dst[p] = (uchar)(order == 1 ? (a | b << 4) : (a << 4 | b));
}

kernel void clq_unpack4(global const uchar *src, ulong npairs, uint order, global uchar *dst)
{
    ulong p = get_global_id(0);
    if (p >= npairs)
        return;
    uchar v = src[p];
    uchar lo = v & 15u, hi = v >> 4;
    dst[2 * p] = order == 1 ? lo : hi;
    dst[2 * p + 1] = order == 1 ? hi : lo;
}

/* ggml blocks of any ggml format <-> ggml block tiles (clq_common.h): a
 * permutation of bytes within each group of 16 blocks, one work-item per
 * block. The blocks are 18 to 210 bytes, so they are copied byte by byte. */
kernel void clq_ggml_blocks_to_device(global const uchar *blocks, uint format, uint nblocks, uint nb,
                                      global uchar *quants)
{
    uint g = get_global_id(0), bytes = CLQ_GGML_BYTES_OF(format), l = g / nb % CLQ_TILE_ROWS;
    if (g >= nblocks)
        return;
    global const uchar *src = blocks + (ulong)g * bytes;
    global uchar *grp = quants + ggml_group_offset(format, g / nb, g % nb, nb);
    for (uint i = 0; i < bytes; i++)
        grp[ggml_tile_byte(format, l, i)] = src[i];
}

kernel void clq_device_to_ggml_blocks(global const uchar *quants, uint format, uint nblocks, uint nb,
                                      global uchar *blocks)
{
    uint g = get_global_id(0), bytes = CLQ_GGML_BYTES_OF(format), l = g / nb % CLQ_TILE_ROWS;
    if (g >= nblocks)
        return;
    global const uchar *grp = quants + ggml_group_offset(format, g / nb, g % nb, nb);
    global uchar *dst = blocks + (ulong)g * bytes;
    for (uint i = 0; i < bytes; i++)
        dst[i] = grp[ggml_tile_byte(format, l, i)];
}
