// Host stand-in for <cuda_fp16.h> under support.cuda_emu: __half as the compiler's IEEE binary16 type
// (_Float16), with the conversions our kernels use. Rounding is round-to-nearest-even, as on the GPU.
#pragma once
typedef _Float16 __half;
static inline float __half2float(__half h) { return (float)h; }
static inline __half __float2half(float f) { return (__half)f; }
