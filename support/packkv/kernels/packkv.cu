// PackKV fused decompress + mat-vec kernels (our own CUDA C; layout of support/packkv/bitpack.py).
//
// One CTA per (64-token block, KV head, sequence) = one tile. The CTA
//   1. reads the tile's width fields and exclusive-scans them: the plane offset of every pack;
//   2. each thread decodes whole packs (one channel x 16 tokens): min field + `width` bit planes of 16 bits
//      -> 16 integer codes, written to shared memory as float (never to global memory);
//   3. computes the dot products from shared memory in fp32 and applies the per-token epilogue
//      (scale and integer zero point), so the whole decompression stays on chip.
// qk: out[s, h, k, t] = scale_t * (sum_d q[s,h,k,d] * c[t,d] + zero_t * sum_d q[s,h,k,d])
// wv: out[s, h, k, d] += sum_t (w[s,h,k,t] * scale_t) * (c[t,d] + zero_t)   (fp32 atomics across tiles)
#include <cuda_fp16.h>

#ifndef HEAD_DIM
#define HEAD_DIM 64
#endif
#define BLOCK_TOK 64
#define PACK 16
#define GROUPS (BLOCK_TOK / PACK)
#define NPACK (GROUPS * HEAD_DIM)
#define MAX_GQ 8
#define NTHREADS 128

__device__ __forceinline__ unsigned int read_field(const unsigned char* p, int bitpos, int bits) {
    const int byte = bitpos >> 3;
    const unsigned int v = (unsigned int)p[byte] | ((unsigned int)p[byte + 1] << 8);
    return (v >> (bitpos & 7)) & ((1u << bits) - 1u);
}

// Exclusive prefix sum of a[0..NPACK) in shared memory, NTHREADS threads, NPACK % NTHREADS == 0.
__device__ void block_exclusive_scan(unsigned int* a, unsigned int* tmp) {
    const int per = NPACK / NTHREADS;
    const int base = threadIdx.x * per;
    unsigned int sum = 0;
    for (int i = 0; i < per; ++i) { unsigned int x = a[base + i]; a[base + i] = sum; sum += x; }
    tmp[threadIdx.x] = sum;
    __syncthreads();
    for (int off = 1; off < NTHREADS; off <<= 1) {
        unsigned int add = threadIdx.x >= off ? tmp[threadIdx.x - off] : 0u;
        __syncthreads();
        tmp[threadIdx.x] += add;
        __syncthreads();
    }
    const unsigned int prefix = threadIdx.x ? tmp[threadIdx.x - 1] : 0u;
    for (int i = 0; i < per; ++i) a[base + i] += prefix;
    __syncthreads();
}

// Decode one tile into codes[t][d] (float).
__device__ void decode_tile(const unsigned short* __restrict__ planes, const unsigned int* __restrict__ tile_off,
                            const unsigned char* __restrict__ mins, const unsigned char* __restrict__ widths,
                            int min_bytes, int width_bytes, int raw_bits, int width_bits, int tile,
                            float codes[BLOCK_TOK][HEAD_DIM + 1], unsigned int* off, unsigned int* tmp) {
    const unsigned char* wb = widths + (size_t)tile * width_bytes;
    const unsigned char* mb = mins + (size_t)tile * min_bytes;
    for (int i = threadIdx.x; i < NPACK; i += NTHREADS) off[i] = read_field(wb, i * width_bits, width_bits);
    __syncthreads();
    block_exclusive_scan(off, tmp);
    const unsigned short* base = planes + tile_off[tile];
    for (int i = threadIdx.x; i < NPACK; i += NTHREADS) {
        const int g = i / HEAD_DIM, d = i - g * HEAD_DIM;
        const unsigned int w = read_field(wb, i * width_bits, width_bits);
        const unsigned int m = read_field(mb, i * raw_bits, raw_bits);
        const unsigned short* p = base + off[i];
        // bit-plane transpose over the pack's own width only (most packs hold 1-4 planes): r[t] gets bit t of plane j
        // as its bit j
        unsigned int r[PACK];
#pragma unroll
        for (int t = 0; t < PACK; ++t) r[t] = 0u;
        for (int j = 0; j < (int)w; ++j) {
            const unsigned int pj = p[j];
#pragma unroll
            for (int t = 0; t < PACK; ++t) r[t] |= ((pj >> t) & 1u) << j;
        }
#pragma unroll
        for (int t = 0; t < PACK; ++t) codes[g * PACK + t][d] = (float)(m + r[t]);
    }
    __syncthreads();
}

// The dot-product stage shared by the fused and the dense kernels, register-blocked over the gq query heads so that
// each tile value read from shared memory serves every query head. PARTS threads share one token (qk) or one
// channel (wv), each over its own slice; a warp's lanes hold consecutive tokens (channels), so the padded tile is
// read without bank conflicts.
#define QK_PARTS (NTHREADS / BLOCK_TOK)
#define WV_PARTS (NTHREADS / HEAD_DIM)

// acc[k] = sum over this thread's channel slice of q[k][d] * codes[t][d], t = threadIdx.x % BLOCK_TOK
__device__ __forceinline__ void dot_qk(const float codes[BLOCK_TOK][HEAD_DIM + 1], const float qs[MAX_GQ][HEAD_DIM],
                                       int gq, float acc[MAX_GQ]) {
    const int t = threadIdx.x % BLOCK_TOK, part = threadIdx.x / BLOCK_TOK;
    const int d0 = part * (HEAD_DIM / QK_PARTS), d1 = d0 + HEAD_DIM / QK_PARTS;
#pragma unroll
    for (int k = 0; k < MAX_GQ; ++k) acc[k] = 0.f;
    for (int d = d0; d < d1; ++d) {
        const float c = codes[t][d];
#pragma unroll
        for (int k = 0; k < MAX_GQ; ++k)
            if (k < gq) acc[k] = fmaf(qs[k][d], c, acc[k]);
    }
}

// Sums the QK_PARTS partial dot products of each token through shared memory ``red``; true for the thread that
// holds the total (part 0), which then writes the token's scores.
__device__ __forceinline__ bool reduce_qk(float acc[MAX_GQ], int gq, float red[QK_PARTS][MAX_GQ][BLOCK_TOK]) {
    const int t = threadIdx.x % BLOCK_TOK, part = threadIdx.x / BLOCK_TOK;
    for (int k = 0; k < gq; ++k) red[part][k][t] = acc[k];
    __syncthreads();
    if (part) return false;
    for (int k = 0; k < gq; ++k)
        for (int p = 1; p < QK_PARTS; ++p) acc[k] += red[p][k][t];
    return true;
}

// acc[k] = sum over this thread's token slice of ws[k][t] * (codes[t][d] + zs[t]), d = threadIdx.x % HEAD_DIM
// (zs = 0 for the dense tile)
__device__ __forceinline__ void dot_wv(const float codes[BLOCK_TOK][HEAD_DIM + 1], const float ws[MAX_GQ][BLOCK_TOK],
                                       const float* zs, int gq, float acc[MAX_GQ]) {
    const int d = threadIdx.x % HEAD_DIM, part = threadIdx.x / HEAD_DIM;
    const int t0 = part * (BLOCK_TOK / WV_PARTS), t1 = t0 + BLOCK_TOK / WV_PARTS;
#pragma unroll
    for (int k = 0; k < MAX_GQ; ++k) acc[k] = 0.f;
    for (int t = t0; t < t1; ++t) {
        const float c = zs ? codes[t][d] + zs[t] : codes[t][d];
#pragma unroll
        for (int k = 0; k < MAX_GQ; ++k)
            if (k < gq) acc[k] = fmaf(ws[k][t], c, acc[k]);
    }
}

extern "C" __global__ void __launch_bounds__(NTHREADS)
packkv_qk(const unsigned short* __restrict__ planes, const unsigned int* __restrict__ tile_off,
          const unsigned char* __restrict__ mins, const unsigned char* __restrict__ widths,
          int min_bytes, int width_bytes, int raw_bits, int width_bits,
          const __half* __restrict__ scale, const short* __restrict__ zero,
          const float* __restrict__ q, float* __restrict__ out, int n_blocks, int n_kv, int gq, int T) {
    __shared__ float codes[BLOCK_TOK][HEAD_DIM + 1];
    __shared__ unsigned int off[NPACK];
    __shared__ unsigned int tmp[NTHREADS];
    __shared__ float qs[MAX_GQ][HEAD_DIM];
    __shared__ float qsum[MAX_GQ];
    __shared__ float red[QK_PARTS][MAX_GQ][BLOCK_TOK];
    const int b = blockIdx.x, h = blockIdx.y, s = blockIdx.z;
    const int tile = (s * n_blocks + b) * n_kv + h;
    const float* qh = q + ((size_t)(s * n_kv + h) * gq) * HEAD_DIM;
    for (int i = threadIdx.x; i < gq * HEAD_DIM; i += NTHREADS) qs[i / HEAD_DIM][i % HEAD_DIM] = qh[i];
    decode_tile(planes, tile_off, mins, widths, min_bytes, width_bytes, raw_bits, width_bits, tile, codes, off, tmp);
    if (threadIdx.x < gq) {
        float a = 0.f;
        for (int d = 0; d < HEAD_DIM; ++d) a += qs[threadIdx.x][d];
        qsum[threadIdx.x] = a;
    }
    __syncthreads();
    float acc[MAX_GQ];
    dot_qk(codes, qs, gq, acc);
    if (!reduce_qk(acc, gq, red)) return;
    const int t = threadIdx.x;
    const size_t tok = (size_t)s * T + (size_t)b * BLOCK_TOK + t;
    const float sc = __half2float(scale[tok]), z = (float)zero[tok];
    for (int k = 0; k < gq; ++k)
        out[((size_t)(s * n_kv + h) * gq + k) * T + (size_t)b * BLOCK_TOK + t] = sc * (acc[k] + z * qsum[k]);
}

extern "C" __global__ void __launch_bounds__(NTHREADS)
packkv_wv(const unsigned short* __restrict__ planes, const unsigned int* __restrict__ tile_off,
          const unsigned char* __restrict__ mins, const unsigned char* __restrict__ widths,
          int min_bytes, int width_bytes, int raw_bits, int width_bits,
          const __half* __restrict__ scale, const short* __restrict__ zero,
          const float* __restrict__ w, float* __restrict__ out, int n_blocks, int n_kv, int gq, int T) {
    __shared__ float codes[BLOCK_TOK][HEAD_DIM + 1];
    __shared__ unsigned int off[NPACK];
    __shared__ unsigned int tmp[NTHREADS];
    __shared__ float ws[MAX_GQ][BLOCK_TOK];
    __shared__ float zs[BLOCK_TOK];
    const int b = blockIdx.x, h = blockIdx.y, s = blockIdx.z;
    const int tile = (s * n_blocks + b) * n_kv + h;
    for (int i = threadIdx.x; i < gq * BLOCK_TOK; i += NTHREADS) {
        const int k = i / BLOCK_TOK, t = i - k * BLOCK_TOK;
        const size_t tok = (size_t)s * T + (size_t)b * BLOCK_TOK + t;
        ws[k][t] = w[((size_t)(s * n_kv + h) * gq + k) * T + (size_t)b * BLOCK_TOK + t] * __half2float(scale[tok]);
        if (k == 0) zs[t] = (float)zero[tok];
    }
    decode_tile(planes, tile_off, mins, widths, min_bytes, width_bytes, raw_bits, width_bits, tile, codes, off, tmp);
    float acc[MAX_GQ];
    dot_wv(codes, ws, zs, gq, acc);
    const int d = threadIdx.x % HEAD_DIM;
    for (int k = 0; k < gq; ++k) atomicAdd(&out[((size_t)(s * n_kv + h) * gq + k) * HEAD_DIM + d], acc[k]);
}

// The same kernels without compression: identical grid, CTA shape, shared tile and dot-product loops, but the tile
// is read as fp16 from a dense (n_seq * n_kv, T, HEAD_DIM) cache instead of being decoded. Against these the fused
// kernels show what the packed format itself buys (bytes read vs decode work), apart from cuBLAS's own choices.
__device__ void load_dense_tile(const __half* __restrict__ x, int s, int h, int b, int n_kv, int T,
                                float codes[BLOCK_TOK][HEAD_DIM + 1]) {
    const __half* base = x + ((size_t)(s * n_kv + h) * T + (size_t)b * BLOCK_TOK) * HEAD_DIM;
    for (int i = threadIdx.x; i < BLOCK_TOK * HEAD_DIM; i += NTHREADS)
        codes[i / HEAD_DIM][i % HEAD_DIM] = __half2float(base[i]);
    __syncthreads();
}

extern "C" __global__ void __launch_bounds__(NTHREADS)
dense_qk(const __half* __restrict__ x, const float* __restrict__ q, float* __restrict__ out, int n_blocks, int n_kv,
         int gq, int T) {
    __shared__ float codes[BLOCK_TOK][HEAD_DIM + 1];
    __shared__ float qs[MAX_GQ][HEAD_DIM];
    __shared__ float red[QK_PARTS][MAX_GQ][BLOCK_TOK];
    const int b = blockIdx.x, h = blockIdx.y, s = blockIdx.z;
    const float* qh = q + ((size_t)(s * n_kv + h) * gq) * HEAD_DIM;
    for (int i = threadIdx.x; i < gq * HEAD_DIM; i += NTHREADS) qs[i / HEAD_DIM][i % HEAD_DIM] = qh[i];
    load_dense_tile(x, s, h, b, n_kv, T, codes);
    float acc[MAX_GQ];
    dot_qk(codes, qs, gq, acc);
    if (!reduce_qk(acc, gq, red)) return;
    const int t = threadIdx.x;
    for (int k = 0; k < gq; ++k) out[((size_t)(s * n_kv + h) * gq + k) * T + (size_t)b * BLOCK_TOK + t] = acc[k];
}

extern "C" __global__ void __launch_bounds__(NTHREADS)
dense_wv(const __half* __restrict__ x, const float* __restrict__ w, float* __restrict__ out, int n_blocks, int n_kv,
         int gq, int T) {
    __shared__ float codes[BLOCK_TOK][HEAD_DIM + 1];
    __shared__ float ws[MAX_GQ][BLOCK_TOK];
    const int b = blockIdx.x, h = blockIdx.y, s = blockIdx.z;
    for (int i = threadIdx.x; i < gq * BLOCK_TOK; i += NTHREADS) {
        const int k = i / BLOCK_TOK, t = i - k * BLOCK_TOK;
        ws[k][t] = w[((size_t)(s * n_kv + h) * gq + k) * T + (size_t)b * BLOCK_TOK + t];
    }
    load_dense_tile(x, s, h, b, n_kv, T, codes);
    float acc[MAX_GQ];
    dot_wv(codes, ws, nullptr, gq, acc);
    const int d = threadIdx.x % HEAD_DIM;
    for (int k = 0; k < gq; ++k) atomicAdd(&out[((size_t)(s * n_kv + h) * gq + k) * HEAD_DIM + d], acc[k]);
}
