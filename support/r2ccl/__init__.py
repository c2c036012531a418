"""R2CCL (arXiv 2512.25059): reliable and resilient collectives over several NICs, in Python.

Ranks are OS processes; each rank has k "NICs", each a TCP connection bound to its own address.
Modules, named after the paper's concepts:

- :mod:`transport`   per-NIC TCP channels, chunk frames, retain-until-acked, heartbeats, timeouts
- :mod:`hot_repair`  failure detection by silence, receiver-driven resync, migration to a backup NIC
- :mod:`balance`     agreement on the failed set, bandwidth-proportional shares, split ratio
- :mod:`collectives` ring allreduce / reduce-scatter / allgather / broadcast, pipelined over NICs
- :mod:`resilient_allreduce` the R2CCL-AllReduce split that computes the exact sum
- :mod:`testbed`     network namespaces, veth NICs, tc tbf, fault injection; loopback fallback
- :mod:`gloo_baseline` torch.distributed gloo on the same namespaces
- :mod:`simulator`   closed-form alpha-beta model (busiest NIC + one chunk of pipeline fill; chunks are not
                      simulated) for hundreds of GPUs, calibrated on the testbed
- :mod:`claims`, :mod:`experiments` what the notebook declares and calls
"""
