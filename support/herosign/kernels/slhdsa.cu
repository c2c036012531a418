// HERO-Sign style SLH-DSA signing kernels (arXiv 2512.23969; FIPS 205 §§5-8), one module per parameter set.
// Macros: SPX_N, SPX_D, SPX_HP, SPX_A, SPX_K, SPX_LEN, SPX_LEN1, SPX_SHA2, SPX_BIG (see hash.cuh).
// Signature layout (FIPS 205 Fig. 17): R | FORS: k x (sk | auth[a]) | HT: d x (wots[len] | auth[h']).
// n-byte values are handled as raw 32-bit words (hash.cuh); nodes in shared memory are SPX_NW words each.
//
// Kernels (the three-kernel DAG of the paper; FORS and TREE are independent, WOTS depends on both):
//   fors_sign_fused  "tree fusion": T threads per FORS tree, subtrees in registers, top levels in shared memory
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
    load_n(pk_seed + (size_t)b * SPX_N, kc.pk);
    load_n(sk_seed + (size_t)b * SPX_N, kc.sk);
#pragma unroll
    for (int i = 0; i < 8; i++) {
        kc.st256[i] = st256[(size_t)b * 8 + i];
        kc.st512[i] = st512[(size_t)b * 8 + i];
    }
    return kc;
}

// FORS leaf j of tree t: PRF then F (FIPS 205 Alg. 14-15); the secret value goes to the signature if selected.
__device__ __forceinline__ void fors_leaf(const KeyCtx &kc, u64 tree, u32 kp, int t, int j, u32 sel, u8 *sig_b,
                                          u32 leaf[SPX_NW]) {
    u32 sk[SPX_NW];
    Adrs a = make_adrs(0, tree, ADRS_FORS_PRF, kp, 0, (u32)(t * FORS_LEAVES + j));
    thash_PRF(kc, a, sk);
    if ((u32)j == sel) store_n(sig_b + SPX_N + (size_t)t * (SPX_A + 1) * SPX_N, sk);
    a.w[4] = ADRS_FORS_TREE;
    thash_F(kc, a, sk, leaf);
}

// "Tree fusion": each FORS tree is built by T = 2^tl threads of one block (tl a tunable, 0 <= tl <= a). Each thread
// builds a subtree of 2^(a - tl) leaves (treehash, FIPS 205 Alg. 15 in leaf order: one pending left node per
// height, kept in shared memory), then the block joins the T subtree roots over the top tl levels in shared
// memory. No level goes through global memory. tl = a is one thread per leaf with every level joined in shared
// memory; tl = 0 is one thread per tree. The block size must be a multiple of T. Shared memory: (a - tl + 1)
// nodes per thread, stored word-interleaved ([height][word][thread]) so that a warp's accesses hit distinct banks.
extern "C" __global__ void fors_sign_fused(int B, int tl, const u8 *pk_seed, const u8 *sk_seed,
                                           const u32 *st256, const u64 *st512, const u64 *idx_tree,
                                           const u32 *idx_leaf, const u32 *fors_idx, u8 *sig, u8 *roots) {
    extern __shared__ u32 smem[];
    const int sub = SPX_A - tl;                                 // heights built by one thread
    const u32 nt = blockDim.x, tid = threadIdx.x;
    u32 *stk = smem;                                            // [sub][SPX_NW][nt]: pending left nodes
    u32 *join = smem + (size_t)sub * SPX_NW * nt;               // [SPX_NW][nt]: subtree roots, then joins
    const u32 g = blockIdx.x * nt + tid;
    const u32 id = g >> tl;                                     // b * k + t
    const u32 part = g & ((1u << tl) - 1);                      // which subtree of the tree
    const bool live = id < (u32)B * SPX_K;
    const int b = (int)(id / SPX_K), t = (int)(id % SPX_K);
    u32 node[SPX_NW] = {0};
    KeyCtx kc;
    u64 tree = 0;
    u32 kp = 0, sel = 0;
    u8 *fsig = nullptr;                                         // this tree's part of the signature
    if (live) {
        kc = key_ctx(b, pk_seed, sk_seed, st256, st512);
        tree = idx_tree[b];
        kp = idx_leaf[b];
        sel = fors_idx[id];
        u8 *sig_b = sig + (size_t)b * SIG_BYTES;
        fsig = sig_b + SPX_N + (size_t)t * (SPX_A + 1) * SPX_N;
        const u32 j0 = part << sub;
        for (u32 j = j0; j < j0 + (1u << sub); j++) {
            fors_leaf(kc, tree, kp, t, (int)j, sel, sig_b, node);
#pragma unroll 1
            for (int z = 0; z < sub; z++) {                     // node: height z, index j >> z
                const u32 idx = j >> z;
                u32 *pend = stk + (size_t)z * SPX_NW * nt + tid;
                if (idx == ((sel >> z) ^ 1u)) store_n(fsig + (1 + z) * SPX_N, node);
                if (!(idx & 1u)) {                               // a left child waits for its sibling
#pragma unroll
                    for (int w = 0; w < SPX_NW; w++) pend[w * nt] = node[w];
                    break;
                }
                Adrs a = make_adrs(0, tree, ADRS_FORS_TREE, kp, z + 1, (u32)t * (FORS_LEAVES >> (z + 1)) + (idx >> 1));
                u32 left[SPX_NW], parent[SPX_NW];
#pragma unroll
                for (int w = 0; w < SPX_NW; w++) left[w] = pend[w * nt];
                thash_H(kc, a, left, node, parent);
#pragma unroll
                for (int w = 0; w < SPX_NW; w++) node[w] = parent[w];
            }
        }
    }
#pragma unroll
    for (int w = 0; w < SPX_NW; w++) join[w * nt + tid] = node[w];
    for (int z = sub; z < SPX_A; z++) {                         // nodes at height z sit every `step` threads
        const u32 step = 1u << (z - sub);
        __syncthreads();
        const bool holds = live && (part & (step - 1)) == 0, joins = live && (part & (2 * step - 1)) == 0;
        const u32 idx = part >> (z - sub);
        u32 l[SPX_NW], r[SPX_NW], up[SPX_NW];
#pragma unroll
        for (int w = 0; w < SPX_NW; w++) l[w] = join[w * nt + tid];
        if (holds && idx == ((sel >> z) ^ 1u)) store_n(fsig + (1 + z) * SPX_N, l);
        if (joins) {
            Adrs a = make_adrs(0, tree, ADRS_FORS_TREE, kp, z + 1, (u32)t * (FORS_LEAVES >> (z + 1)) + (idx >> 1));
#pragma unroll
            for (int w = 0; w < SPX_NW; w++) r[w] = join[w * nt + tid + step];
            thash_H(kc, a, l, r, up);
        }
        __syncthreads();
        if (joins) {
#pragma unroll
            for (int w = 0; w < SPX_NW; w++) join[w * nt + tid] = up[w];
        }
    }
    if (live && part == 0) {
#pragma unroll
        for (int w = 0; w < SPX_NW; w++) node[w] = join[w * nt + tid];
        store_n(roots + (size_t)id * SPX_N, node);
    }
}

extern "C" __global__ void fors_leaves_naive(int B, const u8 *pk_seed, const u8 *sk_seed, const u32 *st256,
                                             const u64 *st512, const u64 *idx_tree, const u32 *idx_leaf,
                                             const u32 *fors_idx, u8 *sig, u8 *level0) {
    const u32 g = blockIdx.x * blockDim.x + threadIdx.x;
    if (g >= (u32)B * SPX_K * FORS_LEAVES) return;
    int b = (int)(g / (SPX_K * FORS_LEAVES));
    int t = (int)(g / FORS_LEAVES % SPX_K), j = (int)(g % FORS_LEAVES);
    const KeyCtx kc = key_ctx(b, pk_seed, sk_seed, st256, st512);
    u32 leaf[SPX_NW];
    fors_leaf(kc, idx_tree[b], idx_leaf[b], t, j, fors_idx[b * SPX_K + t], sig + (size_t)b * SIG_BYTES, leaf);
    store_n(level0 + (size_t)g * SPX_N, leaf);
}

// One tree level z >= 1 for all trees of all signatures, children read from global memory.
extern "C" __global__ void fors_level_naive(int B, int z, const u8 *pk_seed, const u32 *st256, const u64 *st512,
                                            const u64 *idx_tree, const u32 *idx_leaf, const u32 *fors_idx,
                                            const u8 *below, u8 *above, u8 *sig) {
    const int cnt = FORS_LEAVES >> z;
    const u32 g = blockIdx.x * blockDim.x + threadIdx.x;
    if (g >= (u32)B * SPX_K * cnt) return;
    int b = (int)(g / (SPX_K * cnt));
    int t = (int)(g / cnt % SPX_K), j = (int)(g % cnt);
    const KeyCtx kc = key_ctx(b, pk_seed, pk_seed, st256, st512);
    const u8 *kids = below + (((size_t)b * SPX_K + t) * (cnt << 1) + 2 * j) * SPX_N;
    u32 sel = fors_idx[b * SPX_K + t] >> (z - 1);
    if ((sel >> 1) == (u32)j)
        copy_n(sig + (size_t)b * SIG_BYTES + SPX_N + ((size_t)t * (SPX_A + 1) + z) * SPX_N,
               kids + (size_t)((sel ^ 1u) & 1u) * SPX_N);
    Adrs a = make_adrs(0, idx_tree[b], ADRS_FORS_TREE, idx_leaf[b], z, (u32)(t * cnt + j));
    u32 l[SPX_NW], r[SPX_NW], o[SPX_NW];
    load_n(kids, l);
    load_n(kids + SPX_N, r);
    thash_H(kc, a, l, r, o);
    store_n(above + (size_t)g * SPX_N, o);
}

// FORS public key: T_k over the k roots (FIPS 205 Alg. 16 lines 17-20), one thread per signature.
extern "C" __global__ void fors_pk(int B, const u8 *pk_seed, const u32 *st256, const u64 *st512,
                                   const u64 *idx_tree, const u32 *idx_leaf, const u8 *roots, u8 *pk_out) {
    int b = blockIdx.x * blockDim.x + threadIdx.x;
    if (b >= B) return;
    const KeyCtx kc = key_ctx(b, pk_seed, pk_seed, st256, st512);
    Adrs a = make_adrs(0, idx_tree[b], ADRS_FORS_ROOTS, idx_leaf[b], 0, 0);
    u32 o[SPX_NW];
    thash_T<SPX_K>(kc, a, roots + (size_t)b * SPX_K * SPX_N, o);
    store_n(pk_out + (size_t)b * SPX_N, o);
}

__device__ __forceinline__ void layer_tree_leaf(u64 idx_tree, u32 idx_leaf, int layer, u64 &tree, u32 &leaf) {
    int sh = layer * SPX_HP;
    tree = sh >= 64 ? 0ULL : idx_tree >> sh;
    leaf = layer == 0 ? idx_leaf : (u32)((idx_tree >> ((layer - 1) * SPX_HP)) & (XMSS_LEAVES - 1));
}

// WOTS+ chain from its secret value: PRF, then `steps` F calls (FIPS 205 Alg. 5 and 6), in registers.
__device__ __forceinline__ void wots_chain(const KeyCtx &kc, Adrs a, int steps, u32 x[SPX_NW]) {
    thash_PRF(kc, a, x);
    a.w[4] = ADRS_WOTS_HASH;
    for (int s = 0; s < steps; s++) {
        a.w[7] = s;
        u32 y[SPX_NW];
        thash_F(kc, a, x, y);
#pragma unroll
        for (int i = 0; i < SPX_NW; i++) x[i] = y[i];
    }
}

// TREE_Sign part 1: chain c of leaf l of layer j of signature b, run to the end (w - 1 = 15 steps).
extern "C" __global__ void tree_chains(int B, const u8 *pk_seed, const u8 *sk_seed, const u32 *st256,
                                       const u64 *st512, const u64 *idx_tree, const u32 *idx_leaf, u8 *ends) {
    const u32 g = blockIdx.x * blockDim.x + threadIdx.x;
    if (g >= (u32)B * SPX_D * XMSS_LEAVES * SPX_LEN) return;
    int c = (int)(g % SPX_LEN);
    int l = (int)(g / SPX_LEN % XMSS_LEAVES);
    int j = (int)(g / (SPX_LEN * XMSS_LEAVES) % SPX_D);
    int b = (int)(g / (SPX_LEN * XMSS_LEAVES * SPX_D));
    const KeyCtx kc = key_ctx(b, pk_seed, sk_seed, st256, st512);
    u64 tree; u32 leaf;
    layer_tree_leaf(idx_tree[b], idx_leaf[b], j, tree, leaf);
    u32 x[SPX_NW];
    wots_chain(kc, make_adrs(j, tree, ADRS_WOTS_PRF, l, c, 0), 15, x);
    store_n(ends + (size_t)g * SPX_N, x);
}

// TREE_Sign part 2: one block per (signature, layer); T_len per leaf, then XMSS levels in shared memory.
extern "C" __global__ void tree_build(int B, const u8 *pk_seed, const u32 *st256, const u64 *st512,
                                      const u64 *idx_tree, const u32 *idx_leaf, const u8 *ends, u8 *sig,
                                      u8 *roots) {
    __shared__ u32 nodes[XMSS_LEAVES * SPX_NW];
    const int b = blockIdx.x / SPX_D, j = blockIdx.x % SPX_D;
    if (b >= B) return;
    const KeyCtx kc = key_ctx(b, pk_seed, pk_seed, st256, st512);
    u64 tree; u32 leaf;
    layer_tree_leaf(idx_tree[b], idx_leaf[b], j, tree, leaf);
    u8 *auth = sig + (size_t)b * SIG_BYTES + SPX_N + FORS_SIG_BYTES + (size_t)j * HT_LAYER_BYTES + SPX_LEN * SPX_N;
    for (int l = threadIdx.x; l < XMSS_LEAVES; l += blockDim.x) {
        Adrs a = make_adrs(j, tree, ADRS_WOTS_PK, l, 0, 0);
        u32 o[SPX_NW];
        thash_T<SPX_LEN>(kc, a, ends + (((size_t)b * SPX_D + j) * XMSS_LEAVES + l) * SPX_LEN * SPX_N, o);
        store_n(nodes + l * SPX_NW, o);
    }
    __syncthreads();
    for (int z = 1; z <= SPX_HP; z++) {
        const int cnt = XMSS_LEAVES >> z;
        if (threadIdx.x == 0) copy_n(auth + (z - 1) * SPX_N, nodes + ((leaf >> (z - 1)) ^ 1u) * SPX_NW);
        u32 o[SPX_NW];
        const bool act = threadIdx.x < cnt;
        if (act) {
            Adrs a = make_adrs(j, tree, ADRS_TREE, 0, z, threadIdx.x);
            u32 l[SPX_NW], r[SPX_NW];
            load_n(nodes + 2 * threadIdx.x * SPX_NW, l);
            load_n(nodes + (2 * threadIdx.x + 1) * SPX_NW, r);
            thash_H(kc, a, l, r, o);
        }
        __syncthreads();
        if (act) store_n(nodes + threadIdx.x * SPX_NW, o);
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
    const u32 g = blockIdx.x * blockDim.x + threadIdx.x;
    if (g >= (u32)B * SPX_D * SPX_LEN) return;
    int c = (int)(g % SPX_LEN), j = (int)(g / SPX_LEN % SPX_D), b = (int)(g / (SPX_LEN * SPX_D));
    const KeyCtx kc = key_ctx(b, pk_seed, sk_seed, st256, st512);
    u64 tree; u32 leaf;
    layer_tree_leaf(idx_tree[b], idx_leaf[b], j, tree, leaf);
    const u8 *msg = j == 0 ? fors_pk_in + (size_t)b * SPX_N : roots + ((size_t)b * SPX_D + j - 1) * SPX_N;
    u32 x[SPX_NW];
    wots_chain(kc, make_adrs(j, tree, ADRS_WOTS_PRF, leaf, c, 0), wots_digit(msg, c), x);
    store_n(sig + (size_t)b * SIG_BYTES + SPX_N + FORS_SIG_BYTES + (size_t)j * HT_LAYER_BYTES + (size_t)c * SPX_N, x);
}
