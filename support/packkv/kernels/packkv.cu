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
// block_exclusive_scan gives every thread the same whole number of packs (support/packkv/gpu.py checks it too).
static_assert(NPACK % NTHREADS == 0, "HEAD_DIM must be a multiple of 32: NPACK = 4 * HEAD_DIM packs over 128 threads");

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
        unsigned int pl[8];
#pragma unroll
        for (int j = 0; j < 8; ++j) pl[j] = j < (int)w ? (unsigned int)p[j] : 0u;
#pragma unroll
        for (int t = 0; t < PACK; ++t) {
            unsigned int r = 0;
#pragma unroll
            for (int j = 0; j < 8; ++j) r |= ((pl[j] >> t) & 1u) << j;
            codes[g * PACK + t][d] = (float)(m + r);
        }
    }
    __syncthreads();
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
    for (int i = threadIdx.x; i < gq * BLOCK_TOK; i += NTHREADS) {
        const int k = i / BLOCK_TOK, t = i - k * BLOCK_TOK;
        float acc = 0.f;
#pragma unroll 8
        for (int d = 0; d < HEAD_DIM; ++d) acc = fmaf(qs[k][d], codes[t][d], acc);
        const size_t tok = (size_t)s * T + (size_t)b * BLOCK_TOK + t;
        const float sc = __half2float(scale[tok]);
        out[((size_t)(s * n_kv + h) * gq + k) * T + (size_t)b * BLOCK_TOK + t] = sc * (acc + (float)zero[tok] * qsum[k]);
    }
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
    for (int i = threadIdx.x; i < gq * HEAD_DIM; i += NTHREADS) {
        const int k = i / HEAD_DIM, d = i - k * HEAD_DIM;
        float acc = 0.f;
#pragma unroll 8
        for (int t = 0; t < BLOCK_TOK; ++t) acc = fmaf(ws[k][t], codes[t][d] + zs[t], acc);
        atomicAdd(&out[((size_t)(s * n_kv + h) * gq + k) * HEAD_DIM + d], acc);
    }
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
    const int b = blockIdx.x, h = blockIdx.y, s = blockIdx.z;
    const float* qh = q + ((size_t)(s * n_kv + h) * gq) * HEAD_DIM;
    for (int i = threadIdx.x; i < gq * HEAD_DIM; i += NTHREADS) qs[i / HEAD_DIM][i % HEAD_DIM] = qh[i];
    load_dense_tile(x, s, h, b, n_kv, T, codes);
    for (int i = threadIdx.x; i < gq * BLOCK_TOK; i += NTHREADS) {
        const int k = i / BLOCK_TOK, t = i - k * BLOCK_TOK;
        float acc = 0.f;
#pragma unroll 8
        for (int d = 0; d < HEAD_DIM; ++d) acc = fmaf(qs[k][d], codes[t][d], acc);
        out[((size_t)(s * n_kv + h) * gq + k) * T + (size_t)b * BLOCK_TOK + t] = acc;
    }
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
    for (int i = threadIdx.x; i < gq * HEAD_DIM; i += NTHREADS) {
        const int k = i / HEAD_DIM, d = i - k * HEAD_DIM;
        float acc = 0.f;
#pragma unroll 8
        for (int t = 0; t < BLOCK_TOK; ++t) acc = fmaf(ws[k][t], codes[t][d], acc);
        atomicAdd(&out[((size_t)(s * n_kv + h) * gq + k) * HEAD_DIM + d], acc);
    }
}
