// Tweakable hashes of SLH-DSA (FIPS 205 §11) for one thread: SHA-256 / SHA-512 (SHA2 sets, §11.2)
// and SHAKE256 (§11.1). Parameters come in as macros: SPX_N, SPX_SHA2 (1 = SHA2 family),
// SPX_BIG (1 = H, T_l use SHA-512: SHA2 categories 3 and 5).
//
// Values of n bytes travel as SPX_NW 32-bit words in memory byte order ("raw words": a 4-byte load of the bytes),
// so chains and tree nodes stay in registers. Each message block is built word by word from the address, the
// input words and the padding, with every index known at compile time for F, PRF and H (one block each); only
// T_l (T_k, T_len) streams several blocks from memory. All n-byte values in memory are 4-byte aligned (every
// offset in a signature, a key row or a node buffer is a multiple of n, itself a multiple of 8).
#pragma once

typedef unsigned char u8;
typedef unsigned int u32;
typedef unsigned long long u64;

#ifndef SPX_N
#error "define SPX_N and the other SPX_* parameters"
#endif
#define SPX_NW (SPX_N / 4)  // 32-bit words of an n-byte value

enum { ADRS_WOTS_HASH = 0, ADRS_WOTS_PK = 1, ADRS_TREE = 2, ADRS_FORS_TREE = 3, ADRS_FORS_ROOTS = 4,
       ADRS_WOTS_PRF = 5, ADRS_FORS_PRF = 6 };

// ADRS as 8 words: layer, tree (3 words, we use 2 and 3), type, keypair, chain/height, hash/index.
struct Adrs { u32 w[8]; };

__device__ __forceinline__ Adrs make_adrs(u32 layer, u64 tree, u32 type, u32 kp, u32 w6, u32 w7) {
    Adrs a;
    a.w[0] = layer; a.w[1] = 0; a.w[2] = (u32)(tree >> 32); a.w[3] = (u32)tree;
    a.w[4] = type; a.w[5] = kp; a.w[6] = w6; a.w[7] = w7;
    return a;
}

__device__ __forceinline__ u32 bswap32(u32 x) { return __byte_perm(x, 0, 0x0123); }

// n-byte value <-> raw words (4-byte aligned memory: global, shared or local).
__device__ __forceinline__ void load_n(const void *p, u32 v[SPX_NW]) {
#pragma unroll
    for (int i = 0; i < SPX_NW; i++) v[i] = static_cast<const u32 *>(p)[i];
}
__device__ __forceinline__ void store_n(void *p, const u32 v[SPX_NW]) {
#pragma unroll
    for (int i = 0; i < SPX_NW; i++) static_cast<u32 *>(p)[i] = v[i];
}
__device__ __forceinline__ void copy_n(void *dst, const void *src) {
    u32 v[SPX_NW];
    load_n(src, v);
    store_n(dst, v);
}

// ---------------------------------------------------------------- SHA-256 (FIPS 180-4 §6.2)
__constant__ u32 K256[64] = {
    0x428a2f98,0x71374491,0xb5c0fbcf,0xe9b5dba5,0x3956c25b,0x59f111f1,0x923f82a4,0xab1c5ed5,
    0xd807aa98,0x12835b01,0x243185be,0x550c7dc3,0x72be5d74,0x80deb1fe,0x9bdc06a7,0xc19bf174,
    0xe49b69c1,0xefbe4786,0x0fc19dc6,0x240ca1cc,0x2de92c6f,0x4a7484aa,0x5cb0a9dc,0x76f988da,
    0x983e5152,0xa831c66d,0xb00327c8,0xbf597fc7,0xc6e00bf3,0xd5a79147,0x06ca6351,0x14292967,
    0x27b70a85,0x2e1b2138,0x4d2c6dfc,0x53380d13,0x650a7354,0x766a0abb,0x81c2c92e,0x92722c85,
    0xa2bfe8a1,0xa81a664b,0xc24b8b70,0xc76c51a3,0xd192e819,0xd6990624,0xf40e3585,0x106aa070,
    0x19a4c116,0x1e376c08,0x2748774c,0x34b0bcb5,0x391c0cb3,0x4ed8aa4a,0x5b9cca4f,0x682e6ff3,
    0x748f82ee,0x78a5636f,0x84c87814,0x8cc70208,0x90befffa,0xa4506ceb,0xbef9a3f7,0xc67178f2};

__device__ __forceinline__ u32 rotr32(u32 x, u32 r) { return __funnelshift_r(x, x, r); }

// One compression of the 16 big-endian message words w (overwritten: the message schedule runs in place).
__device__ __forceinline__ void sha256_compress(u32 st[8], u32 w[16]) {
    u32 a = st[0], b = st[1], c = st[2], d = st[3], e = st[4], f = st[5], g = st[6], h = st[7];
#pragma unroll
    for (int t = 0; t < 64; t++) {
        if (t >= 16) {
            u32 w15 = w[(t - 15) & 15], w2 = w[(t - 2) & 15];
            w[t & 15] += (rotr32(w15, 7) ^ rotr32(w15, 18) ^ (w15 >> 3)) + w[(t - 7) & 15]
                       + (rotr32(w2, 17) ^ rotr32(w2, 19) ^ (w2 >> 10));
        }
        u32 t1 = h + (rotr32(e, 6) ^ rotr32(e, 11) ^ rotr32(e, 25)) + (g ^ (e & (f ^ g))) + K256[t] + w[t & 15];
        u32 t2 = (rotr32(a, 2) ^ rotr32(a, 13) ^ rotr32(a, 22)) + ((a & b) | (c & (a | b)));
        h = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
    }
    st[0] += a; st[1] += b; st[2] += c; st[3] += d; st[4] += e; st[5] += f; st[6] += g; st[7] += h;
}

// ---------------------------------------------------------------- SHA-512 (FIPS 180-4 §6.4)
__constant__ u64 K512[80] = {
    0x428a2f98d728ae22ULL,0x7137449123ef65cdULL,0xb5c0fbcfec4d3b2fULL,0xe9b5dba58189dbbcULL,0x3956c25bf348b538ULL,
    0x59f111f1b605d019ULL,0x923f82a4af194f9bULL,0xab1c5ed5da6d8118ULL,0xd807aa98a3030242ULL,0x12835b0145706fbeULL,
    0x243185be4ee4b28cULL,0x550c7dc3d5ffb4e2ULL,0x72be5d74f27b896fULL,0x80deb1fe3b1696b1ULL,0x9bdc06a725c71235ULL,
    0xc19bf174cf692694ULL,0xe49b69c19ef14ad2ULL,0xefbe4786384f25e3ULL,0x0fc19dc68b8cd5b5ULL,0x240ca1cc77ac9c65ULL,
    0x2de92c6f592b0275ULL,0x4a7484aa6ea6e483ULL,0x5cb0a9dcbd41fbd4ULL,0x76f988da831153b5ULL,0x983e5152ee66dfabULL,
    0xa831c66d2db43210ULL,0xb00327c898fb213fULL,0xbf597fc7beef0ee4ULL,0xc6e00bf33da88fc2ULL,0xd5a79147930aa725ULL,
    0x06ca6351e003826fULL,0x142929670a0e6e70ULL,0x27b70a8546d22ffcULL,0x2e1b21385c26c926ULL,0x4d2c6dfc5ac42aedULL,
    0x53380d139d95b3dfULL,0x650a73548baf63deULL,0x766a0abb3c77b2a8ULL,0x81c2c92e47edaee6ULL,0x92722c851482353bULL,
    0xa2bfe8a14cf10364ULL,0xa81a664bbc423001ULL,0xc24b8b70d0f89791ULL,0xc76c51a30654be30ULL,0xd192e819d6ef5218ULL,
    0xd69906245565a910ULL,0xf40e35855771202aULL,0x106aa07032bbd1b8ULL,0x19a4c116b8d2d0c8ULL,0x1e376c085141ab53ULL,
    0x2748774cdf8eeb99ULL,0x34b0bcb5e19b48a8ULL,0x391c0cb3c5c95a63ULL,0x4ed8aa4ae3418acbULL,0x5b9cca4f7763e373ULL,
    0x682e6ff3d6b2b8a3ULL,0x748f82ee5defb2fcULL,0x78a5636f43172f60ULL,0x84c87814a1f0ab72ULL,0x8cc702081a6439ecULL,
    0x90befffa23631e28ULL,0xa4506cebde82bde9ULL,0xbef9a3f7b2c67915ULL,0xc67178f2e372532bULL,0xca273eceea26619cULL,
    0xd186b8c721c0c207ULL,0xeada7dd6cde0eb1eULL,0xf57d4f7fee6ed178ULL,0x06f067aa72176fbaULL,0x0a637dc5a2c898a6ULL,
    0x113f9804bef90daeULL,0x1b710b35131c471bULL,0x28db77f523047d84ULL,0x32caab7b40c72493ULL,0x3c9ebe0a15c9bebcULL,
    0x431d67c49c100d4cULL,0x4cc5d4becb3e42b6ULL,0x597f299cfc657e2aULL,0x5fcb6fab3ad6faecULL,0x6c44198c4a475817ULL};

__device__ __forceinline__ u64 rotr64(u64 x, u32 r) { return (x >> r) | (x << (64 - r)); }

// One compression of a block given as 32 big-endian 32-bit words (pairs form the 16 message words).
__device__ __forceinline__ void sha512_compress(u64 st[8], const u32 m[32]) {
    u64 w[16];
#pragma unroll
    for (int i = 0; i < 16; i++) w[i] = ((u64)m[2 * i] << 32) | m[2 * i + 1];
    u64 a = st[0], b = st[1], c = st[2], d = st[3], e = st[4], f = st[5], g = st[6], h = st[7];
#pragma unroll 16
    for (int t = 0; t < 80; t++) {
        if (t >= 16) {
            u64 w15 = w[(t - 15) & 15], w2 = w[(t - 2) & 15];
            w[t & 15] += (rotr64(w15, 1) ^ rotr64(w15, 8) ^ (w15 >> 7)) + w[(t - 7) & 15]
                       + (rotr64(w2, 19) ^ rotr64(w2, 61) ^ (w2 >> 6));
        }
        u64 t1 = h + (rotr64(e, 14) ^ rotr64(e, 18) ^ rotr64(e, 41)) + (g ^ (e & (f ^ g))) + K512[t] + w[t & 15];
        u64 t2 = (rotr64(a, 28) ^ rotr64(a, 34) ^ rotr64(a, 39)) + ((a & b) | (c & (a | b)));
        h = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
    }
    st[0] += a; st[1] += b; st[2] += c; st[3] += d; st[4] += e; st[5] += f; st[6] += g; st[7] += h;
}

// Big-endian word i of the message ADRSc (22 bytes) || input (NWIN big-endian words from src) || 0x80 || 0...;
// the input starts 2 bytes into word 5, so each later word joins two halves.
template <int NWIN, class Src>
__device__ __forceinline__ u32 adrsc_msg_word(const Adrs &a, Src src, int i) {
    if (i < 5) {
        switch (i) {
            case 0: return ((a.w[0] & 0xFF) << 24) | (a.w[2] >> 8);
            case 1: return (a.w[2] << 24) | (a.w[3] >> 8);
            case 2: return (a.w[3] << 24) | ((a.w[4] & 0xFF) << 16) | (a.w[5] >> 16);
            case 3: return (a.w[5] << 16) | (a.w[6] >> 16);
            default: return (a.w[6] << 16) | (a.w[7] >> 16);
        }
    }
    const int j = i - 5;  // input word whose first half ends this word
    u32 hi = j == 0 ? a.w[7] : (j - 1 < NWIN ? src(j - 1) : (j - 1 == NWIN ? 0x80000000u : 0u));
    u32 lo = j < NWIN ? src(j) : (j == NWIN ? 0x80000000u : 0u);
    return (hi << 16) | (lo >> 16);
}

// SHA-2 tweakable hash: compress ADRSc || input || padding from the seeded state (the state after the
// PK.seed block, PRE bytes), WB 32-bit words per block (16: SHA-256, 32: SHA-512), LW length words at the end.
template <int NWIN, int WB, int LW, int PRE, class Src, class Compress>
__device__ __forceinline__ void sha2_th(const Adrs &a, Src src, Compress compress) {
    const int NB = (5 + NWIN + 1 + LW + WB - 1) / WB;
    const u32 bits = (u32)(PRE + 22 + 4 * NWIN) * 8;
    auto block = [&](int b) {
        u32 m[WB];
#pragma unroll
        for (int i = 0; i < WB; i++) m[i] = adrsc_msg_word<NWIN>(a, src, WB * b + i);
        if (b == NB - 1) m[WB - 1] = bits;
        compress(m);
    };
    if (NB <= 2) {  // F, PRF, H: every index known at compile time
#pragma unroll
        for (int b = 0; b < NB; b++) block(b);
    } else {  // T_l: many blocks, one copy of the compression
#pragma unroll 1
        for (int b = 0; b < NB; b++) block(b);
    }
}

// ---------------------------------------------------------------- Keccak-f[1600] / SHAKE256 (FIPS 202)
__constant__ u64 KECCAK_RC[24] = {
    0x0000000000000001ULL,0x0000000000008082ULL,0x800000000000808aULL,0x8000000080008000ULL,0x000000000000808bULL,
    0x0000000080000001ULL,0x8000000080008081ULL,0x8000000000008009ULL,0x000000000000008aULL,0x0000000000000088ULL,
    0x0000000080008009ULL,0x000000008000000aULL,0x000000008000808bULL,0x800000000000008bULL,0x8000000000008089ULL,
    0x8000000000008003ULL,0x8000000000008002ULL,0x8000000000000080ULL,0x000000000000800aULL,0x800000008000000aULL,
    0x8000000080008081ULL,0x8000000000008080ULL,0x0000000080000001ULL,0x8000000080008008ULL};

#define ROTL64(x, r) (((x) << (r)) | ((x) >> (64 - (r))))

// The permutation with theta, rho and pi written out (rho offsets and the pi lane order of FIPS 202 §3.2).
__device__ __forceinline__ void keccak_f1600(u64 A[25]) {
    for (int r = 0; r < 24; r++) {
        u64 C0 = A[0] ^ A[5] ^ A[10] ^ A[15] ^ A[20], C1 = A[1] ^ A[6] ^ A[11] ^ A[16] ^ A[21],
            C2 = A[2] ^ A[7] ^ A[12] ^ A[17] ^ A[22], C3 = A[3] ^ A[8] ^ A[13] ^ A[18] ^ A[23],
            C4 = A[4] ^ A[9] ^ A[14] ^ A[19] ^ A[24];
        u64 D0 = C4 ^ ROTL64(C1, 1), D1 = C0 ^ ROTL64(C2, 1), D2 = C1 ^ ROTL64(C3, 1), D3 = C2 ^ ROTL64(C4, 1),
            D4 = C3 ^ ROTL64(C0, 1);
        u64 B0 = (A[0] ^ D0), B1 = ROTL64(A[6] ^ D1, 44), B2 = ROTL64(A[12] ^ D2, 43),
            B3 = ROTL64(A[18] ^ D3, 21), B4 = ROTL64(A[24] ^ D4, 14);
        u64 B5 = ROTL64(A[3] ^ D3, 28), B6 = ROTL64(A[9] ^ D4, 20), B7 = ROTL64(A[10] ^ D0, 3),
            B8 = ROTL64(A[16] ^ D1, 45), B9 = ROTL64(A[22] ^ D2, 61);
        u64 B10 = ROTL64(A[1] ^ D1, 1), B11 = ROTL64(A[7] ^ D2, 6), B12 = ROTL64(A[13] ^ D3, 25),
            B13 = ROTL64(A[19] ^ D4, 8), B14 = ROTL64(A[20] ^ D0, 18);
        u64 B15 = ROTL64(A[4] ^ D4, 27), B16 = ROTL64(A[5] ^ D0, 36), B17 = ROTL64(A[11] ^ D1, 10),
            B18 = ROTL64(A[17] ^ D2, 15), B19 = ROTL64(A[23] ^ D3, 56);
        u64 B20 = ROTL64(A[2] ^ D2, 62), B21 = ROTL64(A[8] ^ D3, 55), B22 = ROTL64(A[14] ^ D4, 39),
            B23 = ROTL64(A[15] ^ D0, 41), B24 = ROTL64(A[21] ^ D1, 2);
        A[0] = B0 ^ (~B1 & B2); A[1] = B1 ^ (~B2 & B3); A[2] = B2 ^ (~B3 & B4);
        A[3] = B3 ^ (~B4 & B0); A[4] = B4 ^ (~B0 & B1);
        A[5] = B5 ^ (~B6 & B7); A[6] = B6 ^ (~B7 & B8); A[7] = B7 ^ (~B8 & B9);
        A[8] = B8 ^ (~B9 & B5); A[9] = B9 ^ (~B5 & B6);
        A[10] = B10 ^ (~B11 & B12); A[11] = B11 ^ (~B12 & B13); A[12] = B12 ^ (~B13 & B14);
        A[13] = B13 ^ (~B14 & B10); A[14] = B14 ^ (~B10 & B11);
        A[15] = B15 ^ (~B16 & B17); A[16] = B16 ^ (~B17 & B18); A[17] = B17 ^ (~B18 & B19);
        A[18] = B18 ^ (~B19 & B15); A[19] = B19 ^ (~B15 & B16);
        A[20] = B20 ^ (~B21 & B22); A[21] = B21 ^ (~B22 & B23); A[22] = B22 ^ (~B23 & B24);
        A[23] = B23 ^ (~B24 & B20); A[24] = B24 ^ (~B20 & B21);
        A[0] ^= KECCAK_RC[r];
    }
}

// SHAKE256(PK.seed || ADRS || input, 8n): NLIN little-endian input lanes from src, absorbed 17 lanes (136 bytes)
// per permutation; every part is a whole number of lanes, so the 0x1F pad byte starts a lane.
template <int NLIN, class Src>
__device__ __forceinline__ void shake_th(const u32 pk[SPX_NW], const Adrs &a, Src src, u64 A[25]) {
    const int NPK = SPX_N / 8, T = NPK + 4 + NLIN, NB = T / 17 + 1;
    auto lane = [&](int j) -> u64 {
        if (j < NPK) return (u64)pk[2 * j] | ((u64)pk[2 * j + 1] << 32);
        if (j < NPK + 4) return (u64)bswap32(a.w[2 * (j - NPK)]) | ((u64)bswap32(a.w[2 * (j - NPK) + 1]) << 32);
        if (j < T) return src(j - NPK - 4);
        return j == T ? 0x1FULL : 0ULL;
    };
#pragma unroll
    for (int i = 0; i < 25; i++) A[i] = 0;
#pragma unroll 1
    for (int b = 0; b < NB; b++) {
#pragma unroll
        for (int i = 0; i < 17; i++) A[i] ^= lane(17 * b + i);
        if (b == NB - 1) A[16] ^= 0x8000000000000000ULL;
        keccak_f1600(A);
    }
}

// ---------------------------------------------------------------- the tweakable hash
// Per-signature key material in registers: PK.seed and SK.seed as raw words, the seeded SHA-2 states.
struct KeyCtx {
    u32 pk[SPX_NW];
    u32 sk[SPX_NW];
    u32 st256[8];
    u64 st512[8];
};

// out = Th(PK.seed, ADRS, input) for NWIN raw input words from src(j) (j < NWIN); big selects SHA-512 for
// the SHA2 sets of categories 3 and 5 (H and T_l, §11.2.2).
template <int NWIN, class Src>
__device__ __forceinline__ void thash(const KeyCtx &kc, const Adrs &a, Src src, u32 out[SPX_NW], bool big) {
#if SPX_SHA2
    auto be = [&](int j) -> u32 { return bswap32(src(j)); };
    if (SPX_BIG && big) {
        u64 st[8];
#pragma unroll
        for (int i = 0; i < 8; i++) st[i] = kc.st512[i];
        sha2_th<NWIN, 32, 4, 128>(a, be, [&](u32 *m) { sha512_compress(st, m); });
#pragma unroll
        for (int i = 0; i < SPX_NW; i++) out[i] = bswap32((u32)(st[i >> 1] >> ((i & 1) ? 0 : 32)));
    } else {
        u32 st[8];
#pragma unroll
        for (int i = 0; i < 8; i++) st[i] = kc.st256[i];
        sha2_th<NWIN, 16, 2, 64>(a, be, [&](u32 *m) { sha256_compress(st, m); });
#pragma unroll
        for (int i = 0; i < SPX_NW; i++) out[i] = bswap32(st[i]);
    }
#else
    u64 A[25];
    shake_th<NWIN / 2>(kc.pk, a, [&](int j) -> u64 { return (u64)src(2 * j) | ((u64)src(2 * j + 1) << 32); }, A);
#pragma unroll
    for (int i = 0; i < SPX_NW; i++) out[i] = (u32)(A[i >> 1] >> ((i & 1) ? 32 : 0));
#endif
}

__device__ __forceinline__ void thash_F(const KeyCtx &kc, const Adrs &a, const u32 in[SPX_NW], u32 out[SPX_NW]) {
    thash<SPX_NW>(kc, a, [&](int j) { return in[j]; }, out, false);
}
__device__ __forceinline__ void thash_H(const KeyCtx &kc, const Adrs &a, const u32 l[SPX_NW], const u32 r[SPX_NW],
                                        u32 out[SPX_NW]) {
    thash<2 * SPX_NW>(kc, a, [&](int j) { return j < SPX_NW ? l[j] : r[j - SPX_NW]; }, out, true);
}
__device__ __forceinline__ void thash_PRF(const KeyCtx &kc, const Adrs &a, u32 out[SPX_NW]) {
    thash_F(kc, a, kc.sk, out);
}
// T_l over L n-byte values stored contiguously at p (4-byte aligned): T_k (FORS roots) and T_len (WOTS+ keys).
template <int L>
__device__ __forceinline__ void thash_T(const KeyCtx &kc, const Adrs &a, const u8 *p, u32 out[SPX_NW]) {
    const u32 *q = reinterpret_cast<const u32 *>(p);
    thash<L * SPX_NW>(kc, a, [&](int j) { return q[j]; }, out, true);
}
