// Tweakable hashes of SLH-DSA (FIPS 205 §11) for one thread: SHA-256 / SHA-512 (SHA2 sets, §11.2)
// and SHAKE256 (§11.1). Parameters come in as macros: SPX_N, SPX_SHA2 (1 = SHA2 family),
// SPX_BIG (1 = H, T_l use SHA-512: SHA2 categories 3 and 5).
#pragma once

typedef unsigned char u8;
typedef unsigned int u32;
typedef unsigned long long u64;

#ifndef SPX_N
#error "define SPX_N and the other SPX_* parameters"
#endif

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

__device__ void sha256_compress(u32 st[8], const u8 blk[64]) {
    u32 w[16];
#pragma unroll
    for (int i = 0; i < 16; i++)
        w[i] = ((u32)blk[4 * i] << 24) | ((u32)blk[4 * i + 1] << 16) | ((u32)blk[4 * i + 2] << 8) | blk[4 * i + 3];
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

__device__ void sha512_compress(u64 st[8], const u8 blk[128]) {
    u64 w[16];
#pragma unroll
    for (int i = 0; i < 16; i++) {
        u64 v = 0;
#pragma unroll
        for (int j = 0; j < 8; j++) v = (v << 8) | blk[8 * i + j];
        w[i] = v;
    }
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

// Incremental SHA-2 continuing from a seeded state (the state after PK.seed || 0 padding).
struct Sha256Inc { u32 st[8]; u8 buf[64]; u32 fill; u64 total; };
struct Sha512Inc { u64 st[8]; u8 buf[128]; u32 fill; u64 total; };

__device__ __forceinline__ void s256_init(Sha256Inc &h, const u32 *seeded) {
    for (int i = 0; i < 8; i++) h.st[i] = seeded[i];
    h.fill = 0; h.total = 64;
}
__device__ __forceinline__ void s256_byte(Sha256Inc &h, u8 b) {
    h.buf[h.fill++] = b;
    if (h.fill == 64) { sha256_compress(h.st, h.buf); h.fill = 0; }
    h.total++;
}
__device__ void s256_final(Sha256Inc &h, u8 *out, int outlen) {
    u64 bits = h.total * 8;
    u32 f = h.fill;
    h.buf[f++] = 0x80;
    if (f > 56) { while (f < 64) h.buf[f++] = 0; sha256_compress(h.st, h.buf); f = 0; }
    while (f < 56) h.buf[f++] = 0;
    for (int i = 0; i < 8; i++) h.buf[56 + i] = (u8)(bits >> (56 - 8 * i));
    sha256_compress(h.st, h.buf);
    for (int i = 0; i < outlen; i++) out[i] = (u8)(h.st[i >> 2] >> (24 - 8 * (i & 3)));
}
__device__ __forceinline__ void s512_init(Sha512Inc &h, const u64 *seeded) {
    for (int i = 0; i < 8; i++) h.st[i] = seeded[i];
    h.fill = 0; h.total = 128;
}
__device__ __forceinline__ void s512_byte(Sha512Inc &h, u8 b) {
    h.buf[h.fill++] = b;
    if (h.fill == 128) { sha512_compress(h.st, h.buf); h.fill = 0; }
    h.total++;
}
__device__ void s512_final(Sha512Inc &h, u8 *out, int outlen) {
    u64 bits = h.total * 8;
    u32 f = h.fill;
    h.buf[f++] = 0x80;
    if (f > 112) { while (f < 128) h.buf[f++] = 0; sha512_compress(h.st, h.buf); f = 0; }
    while (f < 120) h.buf[f++] = 0;
    for (int i = 0; i < 8; i++) h.buf[120 + i] = (u8)(bits >> (56 - 8 * i));
    sha512_compress(h.st, h.buf);
    for (int i = 0; i < outlen; i++) out[i] = (u8)(h.st[i >> 3] >> (56 - 8 * (i & 7)));
}

// ---------------------------------------------------------------- Keccak-f[1600] / SHAKE256 (FIPS 202)
__constant__ u64 KECCAK_RC[24] = {
    0x0000000000000001ULL,0x0000000000008082ULL,0x800000000000808aULL,0x8000000080008000ULL,0x000000000000808bULL,
    0x0000000080000001ULL,0x8000000080008081ULL,0x8000000000008009ULL,0x000000000000008aULL,0x0000000000000088ULL,
    0x0000000080008009ULL,0x000000008000000aULL,0x000000008000808bULL,0x800000000000008bULL,0x8000000000008089ULL,
    0x8000000000008003ULL,0x8000000000008002ULL,0x8000000000000080ULL,0x000000000000800aULL,0x800000008000000aULL,
    0x8000000080008081ULL,0x8000000000008080ULL,0x0000000080000001ULL,0x8000000080008008ULL};
__constant__ int KECCAK_RHO[25] = {0, 1, 62, 28, 27, 36, 44, 6, 55, 20, 3, 10, 43, 25, 39, 41, 45, 15, 21, 8,
                                   18, 2, 61, 56, 14};
__constant__ int KECCAK_PI[25] = {0, 10, 20, 5, 15, 16, 1, 11, 21, 6, 7, 17, 2, 12, 22, 23, 8, 18, 3, 13, 14,
                                  24, 9, 19, 4};  // B[PI[i]] = rot(A[i], RHO[i])

__device__ __forceinline__ u64 rotl64(u64 x, int r) { return r ? (x << r) | (x >> (64 - r)) : x; }

__device__ void keccak_f1600(u64 A[25]) {
    u64 B[25], C[5];
    for (int r = 0; r < 24; r++) {
#pragma unroll
        for (int x = 0; x < 5; x++) C[x] = A[x] ^ A[x + 5] ^ A[x + 10] ^ A[x + 15] ^ A[x + 20];
#pragma unroll
        for (int x = 0; x < 5; x++) {
            u64 D = C[(x + 4) % 5] ^ rotl64(C[(x + 1) % 5], 1);
#pragma unroll
            for (int y = 0; y < 25; y += 5) A[y + x] ^= D;
        }
#pragma unroll
        for (int i = 0; i < 25; i++) B[KECCAK_PI[i]] = rotl64(A[i], KECCAK_RHO[i]);
#pragma unroll
        for (int y = 0; y < 25; y += 5)
#pragma unroll
            for (int x = 0; x < 5; x++) A[y + x] = B[y + x] ^ (~B[y + (x + 1) % 5] & B[y + (x + 2) % 5]);
        A[0] ^= KECCAK_RC[r];
    }
}

struct Shake { u64 s[25]; u32 pos; };
__device__ __forceinline__ void shake_init(Shake &k) { for (int i = 0; i < 25; i++) k.s[i] = 0; k.pos = 0; }
__device__ __forceinline__ void shake_byte(Shake &k, u8 b) {
    k.s[k.pos >> 3] ^= (u64)b << (8 * (k.pos & 7));
    if (++k.pos == 136) { keccak_f1600(k.s); k.pos = 0; }
}
__device__ void shake_final(Shake &k, u8 *out, int outlen) {  // outlen <= 136
    k.s[k.pos >> 3] ^= (u64)0x1F << (8 * (k.pos & 7));
    k.s[135 >> 3] ^= (u64)0x80 << (8 * (135 & 7));
    keccak_f1600(k.s);
    for (int i = 0; i < outlen; i++) out[i] = (u8)(k.s[i >> 3] >> (8 * (i & 7)));
}

// ---------------------------------------------------------------- the tweakable hash
// Per-signature key material: PK.seed / SK.seed (n bytes) and the seeded SHA-2 states.
struct KeyCtx { const u8 *pk_seed; const u8 *sk_seed; const u32 *st256; const u64 *st512; };

__device__ __forceinline__ u8 adrs_byte_c(const Adrs &a, int i) {  // ADRSc (22 bytes, §11.2)
    if (i == 0) return (u8)a.w[0];
    if (i < 9) return (u8)(a.w[2 + (i - 1) / 4] >> (24 - 8 * ((i - 1) & 3)));
    if (i == 9) return (u8)a.w[4];
    return (u8)(a.w[5 + (i - 10) / 4] >> (24 - 8 * ((i - 10) & 3)));
}
__device__ __forceinline__ u8 adrs_byte(const Adrs &a, int i) { return (u8)(a.w[i >> 2] >> (24 - 8 * (i & 3))); }

// out = Th(PK.seed, ADRS, in[0 .. inlen)); big selects SHA-512 (H and T_l at SHA2 categories 3/5).
__device__ __noinline__ void thash(const KeyCtx &kc, const Adrs &a, const u8 *in, int inlen, u8 *out, bool big) {
#if SPX_SHA2
    if (big && SPX_BIG) {
        Sha512Inc h; s512_init(h, kc.st512);
        for (int i = 0; i < 22; i++) s512_byte(h, adrs_byte_c(a, i));
        for (int i = 0; i < inlen; i++) s512_byte(h, in[i]);
        s512_final(h, out, SPX_N);
    } else {
        Sha256Inc h; s256_init(h, kc.st256);
        for (int i = 0; i < 22; i++) s256_byte(h, adrs_byte_c(a, i));
        for (int i = 0; i < inlen; i++) s256_byte(h, in[i]);
        s256_final(h, out, SPX_N);
    }
#else
    Shake k; shake_init(k);
    for (int i = 0; i < SPX_N; i++) shake_byte(k, kc.pk_seed[i]);
    for (int i = 0; i < 32; i++) shake_byte(k, adrs_byte(a, i));
    for (int i = 0; i < inlen; i++) shake_byte(k, in[i]);
    shake_final(k, out, SPX_N);
#endif
}

__device__ __forceinline__ void thash_F(const KeyCtx &kc, const Adrs &a, const u8 *in, u8 *out) {
    thash(kc, a, in, SPX_N, out, false);
}
__device__ __forceinline__ void thash_H(const KeyCtx &kc, const Adrs &a, const u8 *in, u8 *out) {
    thash(kc, a, in, 2 * SPX_N, out, true);
}
__device__ __forceinline__ void thash_PRF(const KeyCtx &kc, const Adrs &a, u8 *out) {
    thash(kc, a, kc.sk_seed, SPX_N, out, false);
}
