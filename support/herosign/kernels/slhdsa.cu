// HERO-Sign style SLH-DSA signing kernels (arXiv 2512.23969; FIPS 205 §§5-8), one module per parameter set.
// Macros: SPX_N, SPX_D, SPX_HP, SPX_A, SPX_K, SPX_LEN, SPX_LEN1, SPX_SHA2, SPX_BIG (see hash.cuh).
// Signature layout (FIPS 205 Fig. 17): R | FORS: k x (sk | auth[a]) | HT: d x (wots[len] | auth[h']).
//
// Kernels (the three-kernel DAG of the paper; FORS and TREE are independent, WOTS depends on both):
//   fors_sign_fused  "tree fusion": a block builds TPB whole FORS trees, levels reduced in shared memory
//   fors_leaves_naive + fors_level_naive: baseline, one launch per tree level through global memory
//   fors_pk          T_k over the k roots -> FORS public key
//   tree_chains      TREE_Sign part 1: every WOTS+ chain of every layer (one thread per chain)
//   tree_build       TREE_Sign part 2: T_len per leaf, XMSS levels in shared memory, auth path and root
//   wots_sign        WOTS+_Sign: partial chains for the digits of the FORS key / the root of the layer below
#include "hash.cuh"

#define FORS_LEAVES (1 << SPX_A)
#define XMSS_LEAVES (1 << SPX_HP)
#define FORS_SIG_BYTES (SPX_K * (SPX_A + 1) * SPX_N)
#define HT_LAYER_BYTES ((SPX_LEN + SPX_HP) * SPX_N)
#define SIG_BYTES (SPX_N + FORS_SIG_BYTES + SPX_D * HT_LAYER_BYTES)

__device__ __forceinline__ KeyCtx key_ctx(int b, const u8 *pk_seed, const u8 *sk_seed, const u32 *st256,
                                          const u64 *st512) {
    KeyCtx kc;
    kc.pk_seed = pk_seed + (size_t)b * SPX_N;
    kc.sk_seed = sk_seed + (size_t)b * SPX_N;
    kc.st256 = st256 + (size_t)b * 8;
    kc.st512 = st512 + (size_t)b * 8;
    return kc;
}

__device__ __forceinline__ void copy_n(u8 *dst, const u8 *src) {
#pragma unroll
    for (int i = 0; i < SPX_N; i++) dst[i] = src[i];
}

// FORS leaf j of tree t: PRF then F (FIPS 205 Alg. 14-15); the secret value goes to the signature if selected.
__device__ void fors_leaf(const KeyCtx &kc, u64 tree, u32 kp, int t, int j, u32 sel, u8 *sig_b, u8 *leaf) {
    u8 sk[SPX_N];
    Adrs a = make_adrs(0, tree, ADRS_FORS_PRF, kp, 0, (u32)(t * FORS_LEAVES + j));
    thash_PRF(kc, a, sk);
    if ((u32)j == sel) copy_n(sig_b + SPX_N + (size_t)t * (SPX_A + 1) * SPX_N, sk);
    a.w[4] = ADRS_FORS_TREE;
    thash_F(kc, a, sk, leaf);
}

extern "C" __global__ void fors_sign_fused(int B, int tpb, const u8 *pk_seed, const u8 *sk_seed,
                                           const u32 *st256, const u64 *st512, const u64 *idx_tree,
                                           const u32 *idx_leaf, const u32 *fors_idx, u8 *sig, u8 *roots) {
    extern __shared__ u8 smem[];
    const int b = blockIdx.x;
    if (b >= B) return;
    const int t0 = blockIdx.y * tpb;
    const int ntrees = min(tpb, SPX_K - t0);
    u8 *cur = smem;                                    // tpb * 2^a nodes
    u8 *nxt = smem + (size_t)tpb * FORS_LEAVES * SPX_N;  // tpb * 2^(a-1) nodes
    KeyCtx kc = key_ctx(b, pk_seed, sk_seed, st256, st512);
    const u64 tree = idx_tree[b];
    const u32 kp = idx_leaf[b];
    u8 *sig_b = sig + (size_t)b * SIG_BYTES;
    for (int i = threadIdx.x; i < ntrees * FORS_LEAVES; i += blockDim.x) {
        int tl = i / FORS_LEAVES, j = i % FORS_LEAVES, t = t0 + tl;
        fors_leaf(kc, tree, kp, t, j, fors_idx[b * SPX_K + t], sig_b, cur + (size_t)i * SPX_N);
    }
    __syncthreads();
    for (int z = 1; z <= SPX_A; z++) {
        const int cnt = FORS_LEAVES >> z;
        for (int tl = threadIdx.x; tl < ntrees; tl += blockDim.x) {  // auth node at height z-1
            int t = t0 + tl;
            u32 sib = (fors_idx[b * SPX_K + t] >> (z - 1)) ^ 1u;
            copy_n(sig_b + SPX_N + ((size_t)t * (SPX_A + 1) + z) * SPX_N,
                   cur + ((size_t)tl * (cnt << 1) + sib) * SPX_N);
        }
        for (int i = threadIdx.x; i < ntrees * cnt; i += blockDim.x) {
            int tl = i / cnt, j = i % cnt, t = t0 + tl;
            Adrs a = make_adrs(0, tree, ADRS_FORS_TREE, kp, z, (u32)(t * cnt + j));
            thash_H(kc, a, cur + ((size_t)tl * (cnt << 1) + 2 * j) * SPX_N, nxt + (size_t)i * SPX_N);
        }
        __syncthreads();
        u8 *tmp = cur; cur = nxt; nxt = tmp;
    }
    for (int tl = threadIdx.x; tl < ntrees; tl += blockDim.x)
        copy_n(roots + ((size_t)b * SPX_K + t0 + tl) * SPX_N, cur + (size_t)tl * SPX_N);
}

extern "C" __global__ void fors_leaves_naive(int B, const u8 *pk_seed, const u8 *sk_seed, const u32 *st256,
                                             const u64 *st512, const u64 *idx_tree, const u32 *idx_leaf,
                                             const u32 *fors_idx, u8 *sig, u8 *level0) {
    size_t g = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (g >= (size_t)B * SPX_K * FORS_LEAVES) return;
    int b = (int)(g / (SPX_K * FORS_LEAVES));
    int t = (int)(g / FORS_LEAVES % SPX_K), j = (int)(g % FORS_LEAVES);
    KeyCtx kc = key_ctx(b, pk_seed, sk_seed, st256, st512);
    fors_leaf(kc, idx_tree[b], idx_leaf[b], t, j, fors_idx[b * SPX_K + t], sig + (size_t)b * SIG_BYTES,
              level0 + g * SPX_N);
}

// One tree level z >= 1 for all trees of all signatures, children read from global memory.
extern "C" __global__ void fors_level_naive(int B, int z, const u8 *pk_seed, const u32 *st256, const u64 *st512,
                                            const u64 *idx_tree, const u32 *idx_leaf, const u32 *fors_idx,
                                            const u8 *below, u8 *above, u8 *sig) {
    const int cnt = FORS_LEAVES >> z;
    size_t g = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (g >= (size_t)B * SPX_K * cnt) return;
    int b = (int)(g / (SPX_K * cnt));
    int t = (int)(g / cnt % SPX_K), j = (int)(g % cnt);
    KeyCtx kc = key_ctx(b, pk_seed, pk_seed, st256, st512);
    const u8 *kids = below + (((size_t)b * SPX_K + t) * (cnt << 1) + 2 * j) * SPX_N;
    u32 sel = fors_idx[b * SPX_K + t] >> (z - 1);
    if ((sel >> 1) == (u32)j)
        copy_n(sig + (size_t)b * SIG_BYTES + SPX_N + ((size_t)t * (SPX_A + 1) + z) * SPX_N,
               kids + (size_t)((sel ^ 1u) & 1u) * SPX_N);
    Adrs a = make_adrs(0, idx_tree[b], ADRS_FORS_TREE, idx_leaf[b], z, (u32)(t * cnt + j));
    thash_H(kc, a, kids, above + g * SPX_N);
}

// FORS public key: T_k over the k roots (FIPS 205 Alg. 16 lines 17-20), one thread per signature.
extern "C" __global__ void fors_pk(int B, const u8 *pk_seed, const u32 *st256, const u64 *st512,
                                   const u64 *idx_tree, const u32 *idx_leaf, const u8 *roots, u8 *pk_out) {
    int b = blockIdx.x * blockDim.x + threadIdx.x;
    if (b >= B) return;
    KeyCtx kc = key_ctx(b, pk_seed, pk_seed, st256, st512);
    Adrs a = make_adrs(0, idx_tree[b], ADRS_FORS_ROOTS, idx_leaf[b], 0, 0);
    thash(kc, a, roots + (size_t)b * SPX_K * SPX_N, SPX_K * SPX_N, pk_out + (size_t)b * SPX_N, true);
}

__device__ __forceinline__ void layer_tree_leaf(u64 idx_tree, u32 idx_leaf, int layer, u64 &tree, u32 &leaf) {
    int sh = layer * SPX_HP;
    tree = sh >= 64 ? 0ULL : idx_tree >> sh;
    leaf = layer == 0 ? idx_leaf : (u32)((idx_tree >> ((layer - 1) * SPX_HP)) & (XMSS_LEAVES - 1));
}

// TREE_Sign part 1: chain c of leaf l of layer j of signature b, run to the end (w - 1 = 15 steps).
extern "C" __global__ void tree_chains(int B, const u8 *pk_seed, const u8 *sk_seed, const u32 *st256,
                                       const u64 *st512, const u64 *idx_tree, const u32 *idx_leaf, u8 *ends) {
    size_t g = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (g >= (size_t)B * SPX_D * XMSS_LEAVES * SPX_LEN) return;
    int c = (int)(g % SPX_LEN);
    int l = (int)(g / SPX_LEN % XMSS_LEAVES);
    int j = (int)(g / ((size_t)SPX_LEN * XMSS_LEAVES) % SPX_D);
    int b = (int)(g / ((size_t)SPX_LEN * XMSS_LEAVES * SPX_D));
    KeyCtx kc = key_ctx(b, pk_seed, sk_seed, st256, st512);
    u64 tree; u32 leaf;
    layer_tree_leaf(idx_tree[b], idx_leaf[b], j, tree, leaf);
    u8 x[SPX_N], y[SPX_N];
    Adrs a = make_adrs(j, tree, ADRS_WOTS_PRF, l, c, 0);
    thash_PRF(kc, a, x);
    a.w[4] = ADRS_WOTS_HASH;
    for (int s = 0; s < 15; s++) {
        a.w[7] = s;
        thash_F(kc, a, x, y);
        copy_n(x, y);
    }
    copy_n(ends + g * SPX_N, x);
}

// TREE_Sign part 2: one block per (signature, layer); T_len per leaf, then XMSS levels in shared memory.
extern "C" __global__ void tree_build(int B, const u8 *pk_seed, const u32 *st256, const u64 *st512,
                                      const u64 *idx_tree, const u32 *idx_leaf, const u8 *ends, u8 *sig,
                                      u8 *roots) {
    __shared__ u8 nodes[XMSS_LEAVES * SPX_N];
    const int b = blockIdx.x / SPX_D, j = blockIdx.x % SPX_D;
    if (b >= B) return;
    KeyCtx kc = key_ctx(b, pk_seed, pk_seed, st256, st512);
    u64 tree; u32 leaf;
    layer_tree_leaf(idx_tree[b], idx_leaf[b], j, tree, leaf);
    u8 *auth = sig + (size_t)b * SIG_BYTES + SPX_N + FORS_SIG_BYTES + (size_t)j * HT_LAYER_BYTES + SPX_LEN * SPX_N;
    for (int l = threadIdx.x; l < XMSS_LEAVES; l += blockDim.x) {
        Adrs a = make_adrs(j, tree, ADRS_WOTS_PK, l, 0, 0);
        const u8 *e = ends + (((size_t)b * SPX_D + j) * XMSS_LEAVES + l) * SPX_LEN * SPX_N;
        thash(kc, a, e, SPX_LEN * SPX_N, nodes + l * SPX_N, true);
    }
    __syncthreads();
    for (int z = 1; z <= SPX_HP; z++) {
        const int cnt = XMSS_LEAVES >> z;
        if (threadIdx.x == 0) copy_n(auth + (z - 1) * SPX_N, nodes + (((leaf >> (z - 1)) ^ 1u) * SPX_N));
        u8 out[SPX_N];
        const bool act = threadIdx.x < cnt;
        if (act) {
            Adrs a = make_adrs(j, tree, ADRS_TREE, 0, z, threadIdx.x);
            thash_H(kc, a, nodes + 2 * threadIdx.x * SPX_N, out);
        }
        __syncthreads();
        if (act) copy_n(nodes + threadIdx.x * SPX_N, out);
        __syncthreads();
    }
    if (threadIdx.x == 0) copy_n(roots + ((size_t)b * SPX_D + j) * SPX_N, nodes);
}

// Base-16 digit c of the WOTS+ message (FIPS 205 Alg. 7 lines 1-7), checksum digits included.
__device__ int wots_digit(const u8 *msg, int c) {
    if (c < SPX_LEN1) return (msg[c >> 1] >> (4 * (1 - (c & 1)))) & 15;
    u32 csum = 0;
    for (int i = 0; i < SPX_LEN1; i++) csum += 15 - ((msg[i >> 1] >> (4 * (1 - (i & 1)))) & 15);
    csum <<= 4;  // (8 - (len2 * lg_w) % 8) % 8 = 4 for len2 = 3
    int k = c - SPX_LEN1;  // checksum as 2 big-endian bytes, digits 0..2
    u32 byte = (csum >> (8 * (1 - (k >> 1)))) & 0xFF;
    return (byte >> (4 * (1 - (k & 1)))) & 15;
}

// WOTS+_Sign: chain c of layer j signs the FORS key (j = 0) or the root of layer j - 1.
extern "C" __global__ void wots_sign(int B, const u8 *pk_seed, const u8 *sk_seed, const u32 *st256,
                                     const u64 *st512, const u64 *idx_tree, const u32 *idx_leaf,
                                     const u8 *fors_pk_in, const u8 *roots, u8 *sig) {
    size_t g = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (g >= (size_t)B * SPX_D * SPX_LEN) return;
    int c = (int)(g % SPX_LEN), j = (int)(g / SPX_LEN % SPX_D), b = (int)(g / ((size_t)SPX_LEN * SPX_D));
    KeyCtx kc = key_ctx(b, pk_seed, sk_seed, st256, st512);
    u64 tree; u32 leaf;
    layer_tree_leaf(idx_tree[b], idx_leaf[b], j, tree, leaf);
    const u8 *msg = j == 0 ? fors_pk_in + (size_t)b * SPX_N : roots + ((size_t)b * SPX_D + j - 1) * SPX_N;
    int steps = wots_digit(msg, c);
    u8 x[SPX_N], y[SPX_N];
    Adrs a = make_adrs(j, tree, ADRS_WOTS_PRF, leaf, c, 0);
    thash_PRF(kc, a, x);
    a.w[4] = ADRS_WOTS_HASH;
    for (int s = 0; s < steps; s++) {
        a.w[7] = s;
        thash_F(kc, a, x, y);
        copy_n(x, y);
    }
    copy_n(sig + (size_t)b * SIG_BYTES + SPX_N + FORS_SIG_BYTES + (size_t)j * HT_LAYER_BYTES + (size_t)c * SPX_N, x);
}
