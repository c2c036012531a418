"""Claims of "Understanding LLM Checkpoint/Restore I/O Strategies and Patterns" (arXiv 2512.24511) and
the acceptance criteria of the issue, declared once.

Only the paper's abstract was available; the thresholds of the microbenchmark claims are the issue's
reconstruction (notes §6). The paper measured GPU nodes writing to a parallel file system against the
real DataStates-LLM and TorchSnapshot; here one local disk, CPU only, and a DataStates-style stand-in.
"""

from support.claims import AtLeast, AtMost, Claim, ClaimSet, IsTrue

ABS = "arXiv 2512.24511, abstract"
ISSUE = "issue 7 acceptance (reconstruction, notes §6)"

CLAIMS = ClaimSet("09_ckpt_io", [
    Claim("halving", "Uncoalesced small-buffer writes (many-small mix, one O_DIRECT write per tensor, QD1) reach "
          "about half the throughput of the synthetic uniform workload (same bytes in tensors of at most 64 MiB); "
          "ours: per-tensor / synthetic", 0.5, "x", ABS + "; threshold " + ISSUE, AtMost(0.6, partly=0.75)),
    Claim("aggregation_restores", "File-system-aware aggregation (one file, 4 KiB-aligned, 16 MiB staged "
          "O_DIRECT requests, pwrite QD1) restores the bandwidth: aggregated many-small / the synthetic workload "
          "written per tensor at pwrite QD1 (the halving denominator; only coalescing differs)", 1.0, "x",
          ABS + "; threshold " + ISSUE, AtLeast(0.8, partly=0.6)),
    Claim("metadata_reduction", "Aggregation reduces metadata overhead: one aggregated file vs one file per "
          "tensor (many-small mix), write throughput ratio", "fewer metadata operations", "x",
          ABS + "; measure " + ISSUE, AtLeast(1.5, partly=1.1)),
    Claim("vs_datastates", "Write throughput over DataStates-LLM (paper, GPU + PFS: up to 3.9x); ours: over a "
          "DataStates-style stand-in (aggregated file, 64 MiB host chunk, buffered pwrite) on a Llama-2-7B TP=8 "
          "rank", 3.9, "x", ABS, AtLeast(3.9, partly=1.5), scales=("default", "paper")),
    Claim("vs_torchsnapshot", "Write throughput over TorchSnapshot (paper: up to 7.6x; issue: >= 2x on the "
          "Llama-2-7B TP=8 rank)", 7.6, "x", ABS + "; threshold " + ISSUE, AtLeast(7.6, partly=2.0),
          scales=("default", "paper")),
    Claim("vs_torch_save", "Write throughput over torch.save on the Llama-2-7B TP=8 rank", 2.5, "x", ISSUE,
          AtLeast(2.5, partly=1.5), scales=("default", "paper")),
    Claim("disk_fraction", "Our write throughput within 2x of the measured disk limit (large O_DIRECT writes "
          "into a new file, same rounds)", 0.5, "of limit", ISSUE, AtLeast(0.5, partly=0.35),
          scales=("default", "paper")),
    Claim("direct_4k_vs_16m", "O_DIRECT 4 KiB QD1 throughput / 16 MiB QD1 throughput", 0.1, "x", ISSUE,
          AtMost(0.1, partly=0.2)),
    Claim("uring_qd_4k", "io_uring at QD >= 32 over POSIX pwrite QD1, 4 KiB O_DIRECT requests, overwrite of "
          "a written file (as fio measures the device)", 1.5, "x", ISSUE, AtLeast(1.5, partly=1.2)),
    Claim("uring_qd_64k", "io_uring at QD >= 32 over POSIX pwrite QD1, 64 KiB O_DIRECT requests, overwrite of "
          "a written file (as fio measures the device)", 1.5, "x", ISSUE, AtLeast(1.5, partly=1.2)),
    Claim("roundtrip_bitwise", "Every engine restores bitwise-equal tensors (dtype, shape, bytes)", True, "",
          ISSUE, IsTrue()),
    Claim("corruption_detected", "Planted truncations and bit flips (data, header, superblock) raise a clear "
          "error on load, never return data", True, "", ISSUE, IsTrue()),
    Claim("crash_safe", "A writer killed mid-write leaves the previous checkpoint intact", True, "", ISSUE,
          IsTrue()),
    Claim("deterministic_bytes", "Checkpoint bytes identical across two runs with the same seed, written "
          "through two I/O paths (the engine's default, io_uring O_DIRECT where available, and POSIX pwrite "
          "buffered; the note names the paths used)", True, "", ISSUE, IsTrue()),
])
