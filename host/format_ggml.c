/* The ggml formats (clq_format Q4_1 ... IQ4_XS): each one's block, bytes
 * and ggml type number, in one table for the host. */
#include "internal.h"

typedef struct ggml_format_info {
    clq_format format;
    uint32_t type; /* ggml's type number */
} ggml_format_info;

static const ggml_format_info ggml_formats[] = {
    {CLQ_FORMAT_Q4_1, 3},    {CLQ_FORMAT_Q5_0, 6},    {CLQ_FORMAT_Q5_1, 7},  {CLQ_FORMAT_Q2_K, 10},
    {CLQ_FORMAT_Q3_K, 11},   {CLQ_FORMAT_Q4_K, 12},   {CLQ_FORMAT_Q5_K, 13}, {CLQ_FORMAT_Q6_K, 14},
    {CLQ_FORMAT_IQ4_NL, 20}, {CLQ_FORMAT_IQ4_XS, 23},
};
#define GGML_FORMAT_COUNT (sizeof ggml_formats / sizeof ggml_formats[0])

_Static_assert(CLQ_FMT_Q4_1 == CLQ_FORMAT_Q4_1 && CLQ_FMT_Q5_0 == CLQ_FORMAT_Q5_0 &&
                   CLQ_FMT_Q5_1 == CLQ_FORMAT_Q5_1 && CLQ_FMT_Q2_K == CLQ_FORMAT_Q2_K &&
                   CLQ_FMT_Q3_K == CLQ_FORMAT_Q3_K && CLQ_FMT_Q4_K == CLQ_FORMAT_Q4_K &&
                   CLQ_FMT_Q5_K == CLQ_FORMAT_Q5_K && CLQ_FMT_Q6_K == CLQ_FORMAT_Q6_K &&
                   CLQ_FMT_IQ4_NL == CLQ_FORMAT_IQ4_NL && CLQ_FMT_IQ4_XS == CLQ_FORMAT_IQ4_XS,
               "kernels/clq_common.h format numbers must equal enum clq_format");
_Static_assert(GGML_FORMAT_COUNT == CLQ_FORMAT_IQ4_XS - CLQ_FORMAT_Q4_1 + 1, "one entry per ggml format");

bool clq_format_is_ggml(clq_format format)
{
    return CLQ_FMT_IS_GGML((int)format);
}

uint32_t clq_ggml_format_block(clq_format format)
{
    return CLQ_GGML_BLOCK_OF((int)format);
}

uint32_t clq_ggml_format_bytes(clq_format format)
{
    return CLQ_GGML_BYTES_OF((int)format);
}

uint32_t clq_ggml_format_type(clq_format format)
{
    for (size_t i = 0; i < GGML_FORMAT_COUNT; i++)
        if (ggml_formats[i].format == format)
            return ggml_formats[i].type;
    return UINT32_MAX;
}

bool clq_ggml_type_format(uint32_t type, clq_format *out)
{
    for (size_t i = 0; i < GGML_FORMAT_COUNT; i++)
        if (ggml_formats[i].type == type) {
            *out = ggml_formats[i].format;
            return true;
        }
    return false;
}
