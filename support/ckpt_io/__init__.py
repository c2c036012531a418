"""LLM checkpoint/restore I/O (Gossman et al., arXiv 2512.24511): an aggregated, block-aligned,
checksummed one-file-per-rank checkpoint engine with our own raw io_uring binding and POSIX fallbacks.

Modules: :mod:`format` (layout, header, checksums), :mod:`engine` (save / load / random access),
:mod:`uring` (io_uring via syscalls and mmap'd rings), :mod:`posix` (pwrite / pwritev / threads,
O_DIRECT and io_uring detection), :mod:`mixes` (tensor mixes from architectures), :mod:`peers`
(torch.save, safetensors, torchsnapshot, DCP, DataStates-style), :mod:`measure` (timing protocol),
:mod:`experiments` (what the notebook calls), :mod:`claims`.
"""
