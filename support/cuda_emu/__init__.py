"""CPU emulation of CUDA C kernels (a test tool for the GPU papers): :class:`EmuModule` compiles a ``.cu``
source with the host C++ compiler and runs its kernels block by block, one fiber per CUDA thread."""

from support.cuda_emu.emulator import ORDERS, EmuKernel, EmulationError, EmuModule, compiler, thread_order

__all__ = ["ORDERS", "EmuKernel", "EmuModule", "EmulationError", "compiler", "thread_order"]
