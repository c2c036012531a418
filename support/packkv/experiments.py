"""What the PackKV notebook calls: load the model and texts, capture real KV caches, sweep compression settings,
find turning points, measure sizes, check the fused operators, run the growing cache, time mat-vecs.

Every number comes from running :mod:`support.lm` on real text; nothing is fitted or hard-coded.
"""

from __future__ import annotations

import functools
import hashlib
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

import numpy as np
import pandas as pd

from support.claims import Verdict, worst_of
from support.lm.model import Llama, smollm2
from support.lm.text import canonical_text_name, get_text, text_fingerprint
from support.lm.tokenizer import smollm2_tokenizer
from support.packkv import accuracy, bitpack, fused, kivi
from support.packkv.blocks import compress_layer
from support.packkv.claims import CLAIMS
from support.packkv.quantize import head_major, token_major
from support.paths import atomic_writer
from support.progress import progress
from support.validate import ParameterError, check_choice, check_int
from support.xp import blas_threads, gpu_available, to_numpy

METHODS = ("packkv", "kivi", "channel-rel")
KIVI_GROUPS = (32, 64)  # token groups of the KIVI K baseline in the sweep grids: every block must hold whole groups


CONTEXT = {"smoke": 256, "default": 1024, "paper": 2048}  # tokens prefilled per evaluation window (setup)
DECODE_PROMPT = {"smoke": 200, "default": 640, "paper": 960}  # growing-cache decode prompt (see decode_prompt)


def check_parameters(calib_text: str, heldback_text: str, recent: int, block: int, pack: int,
                     blas_threads: int, *, scale: str) -> None:
    """The notebook's parameters, checked right after ``start`` so a bad value fails before the model loads,
    naming the parameter, its value and what is allowed (ParameterError, a usage error)."""
    check_choice(pack, "pack", tuple(bitpack.PLANE_DTYPES), error=ParameterError)
    check_int(block, "block", minimum=1, error=ParameterError)
    if any(block % g for g in (pack, *KIVI_GROUPS)):
        raise ParameterError(f"block must be a multiple of pack ({pack}) and of the KIVI baseline's token groups "
                             f"{KIVI_GROUPS} (so a positive multiple of 64), got {block!r}")
    check_int(recent, "recent", minimum=0, error=ParameterError)
    if recent + block > CONTEXT[scale]:  # setup refuses it; the decode prompt grows to fill a block (decode_prompt)
        raise ParameterError(f"recent + block must be at most {CONTEXT[scale]} at scale {scale!r}, so that the "
                             f"{CONTEXT[scale]}-token context fills a compressed block; got recent={recent!r}, "
                             f"block={block!r}")
    check_int(blas_threads, "blas_threads", minimum=1, error=ParameterError)
    try:  # the texts support.lm.text knows, an alias resolved
        calib = canonical_text_name(calib_text, "calib_text")
        heldback = canonical_text_name(heldback_text, "heldback_text")
    except ValueError as e:
        raise ParameterError(str(e)) from None
    if calib == heldback:
        raise ParameterError(f"heldback_text must differ from calib_text (held-back windows would repeat the "
                             f"calibration windows); both are {calib_text!r}")


def decode_prompt(recent: int, block: int, scale: str) -> int:
    """Prompt tokens of the growing-cache decode: the scale's DECODE_PROMPT, raised to ``recent + block`` so the
    prefill packs a block, at most the CONTEXT it is cut from (:func:`check_parameters` keeps the sum within)."""
    return min(CONTEXT[scale], max(DECODE_PROMPT[scale], recent + block))


@dataclass
class Setup:
    model: Llama
    calib: list  # accuracy.Window on the calibration text
    heldback: list  # accuracy.Window on the held-back text
    recent: int = 128
    block: int = 64
    pack: int = 16
    info: dict = field(default_factory=dict)
    threads: int | None = 1


def _threads(fn):
    """Run ``fn(st, ...)`` with BLAS limited to ``st.threads`` threads."""

    @functools.wraps(fn)
    def run(st, *a, **kw):
        with blas_threads(st.threads):
            return fn(st, *a, **kw)

    return run


def setup(context: int, n_eval: int, calib_windows: int, heldback_windows: int, calib_text: str = "macbeth",
          heldback_text: str = "python-docs", recent: int = 128, block: int = 64, pack: int = 16,
          xp: ModuleType = np, threads: int | None = 1) -> Setup:
    """SmolLM2-135M on ``xp`` and evaluation windows (``context`` tokens prefilled exactly, then ``n_eval``
    evaluated tokens) cut from ``calib_text`` and, disjoint in domain, ``heldback_text``."""
    if context < recent + block:
        raise ValueError(f"context={context} leaves no compressed block (need >= recent + block = {recent + block})")
    if n_eval < 2:
        raise ValueError(f"n_eval must be at least 2, got {n_eval}")
    with blas_threads(threads):
        return _setup(context, n_eval, calib_windows, heldback_windows, calib_text, heldback_text, recent, block,
                      pack, xp, threads)


def _setup(context, n_eval, calib_windows, heldback_windows, calib_text, heldback_text, recent, block, pack, xp,
           threads) -> Setup:
    t0 = time.perf_counter()
    L = context + n_eval
    cw = _text_windows(calib_text, L, calib_windows, "calibration")  # both checked before any model work
    hw = _text_windows(heldback_text, L, heldback_windows, "held-back")
    model = smollm2(xp)
    load_s = time.perf_counter() - t0
    calib = [accuracy.prepare_window(model, w[:context], w[context:], recent, block)
             for w in progress(cw, desc="calibration")]
    held = [accuracy.prepare_window(model, w[:context], w[context:], recent, block)
            for w in progress(hw, desc="held-back")]
    info = {"load_s": round(load_s, 2), "prefill_s": round(time.perf_counter() - t0 - load_s, 2),
            "calib_text": calib_text, "heldback_text": heldback_text, "heldback_text_sha256": text_fingerprint(heldback_text),
            "python": platform.python_version(), "context": context, "n_eval": n_eval,
            "n_compressed": calib[0].n_compressed, "calib_windows": calib_windows,
            "heldback_windows": heldback_windows, "ppl_calib": float(np.exp(np.mean([w.nll for w in calib]))),
            "ppl_heldback": float(np.exp(np.mean([w.nll for w in held]))) if held else None}
    return Setup(model, calib, held, recent, block, pack, info, threads)


@functools.lru_cache(maxsize=8)
def _token_ids(name: str) -> tuple[int, ...]:
    """SmolLM2 token ids of text ``name``, tokenized once per process (sizing and windowing both need them)."""
    return tuple(smollm2_tokenizer().encode(get_text(name)))


def _text_windows(name: str, length: int, count: int, role: str) -> list:
    """``count`` windows of ``length`` tokens from text ``name``, or one ValueError naming the text and its size."""
    from support.lm.text import windows

    ids = list(_token_ids(name))
    if count * length > len(ids):
        raise ValueError(f"{role} text {name!r} has {len(ids)} tokens; {count} windows of {length} need "
                         f"{count * length} (use fewer windows, a shorter context or a longer text)")
    return windows(ids, length, count)


@dataclass(frozen=True)
class Setting:
    """One compression setting of one tensor: PackKV (per-token, ``rel``), KIVI (``bits``, ``group``) or the
    repository's channel quantizer (``rel``, ``group``). The other tensor stays exact."""

    method: str
    tensor: str  # "K" or "V"
    rel: float | None = None
    bits: int | None = None
    group: int | None = None

    def __post_init__(self):
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}; got {self.method!r}")
        if self.tensor not in ("K", "V"):
            raise ValueError(f"tensor must be 'K' or 'V'; got {self.tensor!r}")
        if self.method == "kivi" and (self.bits is None or self.group is None):
            raise ValueError("a KIVI setting needs bits and group")
        if self.method in ("packkv", "channel-rel") and self.rel is None:
            raise ValueError(f"a {self.method} setting needs rel")

    @property
    def label(self) -> str:
        if self.method == "kivi":
            return f"KIVI {self.bits}-bit G{self.group}"
        if self.method == "channel-rel":
            return f"channel rel {self.rel:g} G{self.group}"
        return f"PackKV rel {self.rel:g}"

    def _quant(self, x: np.ndarray) -> np.ndarray:
        """Fake-quantize a token-major ``(n, C)`` slab."""
        if self.method == "packkv":
            from support.packkv.quantize import fake_quantize_tokens

            return fake_quantize_tokens(x, self.rel)
        if self.method == "channel-rel":
            return kivi.quantize_channel_rel(x, self.rel, self.group).dequantize()
        if self.tensor == "K":
            return kivi.quantize_kivi_k(x, self.bits, self.group).dequantize()
        return kivi.quantize_kivi_v(x, self.bits, self.group).dequantize()

    def transform(self, layer: int, k: np.ndarray, v: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        """``(K, V)`` ``(H, T, D)`` as stored with the first ``n`` tokens compressed by this setting."""
        k, v = to_numpy(k), to_numpy(v)
        if n == 0:
            return k, v
        x = k if self.tensor == "K" else v
        y = np.array(x, np.float32)
        y[:, :n] = head_major(self._quant(token_major(x[:, :n])), x.shape[0])
        return (y, v) if self.tensor == "K" else (k, y)

    def sizes(self, windows, block: int = 64, pack: int = 16) -> dict[str, float]:
        """Compression ratios (fp16 bytes / stored bytes) over the compressed context tokens of every layer."""
        fp16 = packed = quant_only = plain = median = 0
        for win in windows:
            n = win.n_compressed
            for k, v in zip(win.k, win.v):
                x = (k if self.tensor == "K" else v)[:, :n]
                fp16 += 2 * x.size
                if self.method == "packkv":  # only the swept tensor is packed (the other one's bytes are unused)
                    w = "k" if self.tensor == "K" else "v"
                    pl = compress_layer(k[:, :n], v[:, :n], self.rel, self.rel, block, pack, only=w)
                    pm = compress_layer(k[:, :n], v[:, :n], self.rel, self.rel, block, pack, reorder="median", only=w)
                    packed += pl.nbytes_k if w == "k" else pl.nbytes_v
                    median += pm.nbytes_k if w == "k" else pm.nbytes_v
                    quant_only += pl.quant_only_nbytes(w)
                    plain += pl.plain_quant_nbytes(w)
                    continue
                xt = token_major(x)
                if self.method == "channel-rel":
                    q = kivi.quantize_channel_rel(xt, self.rel, self.group)
                elif self.tensor == "K":
                    q = kivi.quantize_kivi_k(xt, self.bits, self.group)
                else:
                    q = kivi.quantize_kivi_v(xt, self.bits, self.group)
                packed += q.nbytes
        out = {"cr": fp16 / packed}
        if self.method == "packkv":
            out.update(cr_quant_only=fp16 / quant_only, cr_plain_quant=fp16 / plain, cr_median=fp16 / median)
        return out


def default_settings(scale_grid: str = "default") -> list[Setting]:
    """The sweep grids: K and V rel for PackKV, nominal 2/3/4-bit KIVI with groups 32 and 64 for K."""
    if scale_grid == "smoke":
        k_rels, v_rels, groups, chan = (0.03, 0.06, 0.1, 0.2), (0.1, 0.2, 0.3, 0.5), (64,), ()
    else:
        k_rels, v_rels, groups, chan = (0.02, 0.03, 0.04, 0.06, 0.08, 0.1, 0.15, 0.2), \
            (0.1, 0.2, 0.3, 0.4, 0.5, 0.68), (32, 64), (0.1, 0.2, 0.333)
    s = [Setting("packkv", "K", rel=r) for r in k_rels]
    s += [Setting("kivi", "K", bits=b, group=g) for b in (4, 3, 2) for g in groups]
    s += [Setting("channel-rel", "K", rel=r, group=64) for r in chan]
    s += [Setting("packkv", "V", rel=r) for r in v_rels]
    return s


@_threads
def sweep(st: Setup, settings: list[Setting], forward: bool = True) -> pd.DataFrame:
    """One row per setting: KL, top-1, perplexity change (if ``forward``), attention error, compression ratios."""
    rows = []
    for s in progress(settings, desc="settings"):
        row = {"method": s.method, "tensor": s.tensor, "setting": s.label, "rel": s.rel, "bits": s.bits,
               "group": s.group}
        row["attn_err"] = accuracy.attention_error(st.calib, s.transform)
        if forward:
            row.update(accuracy.evaluate(st.model, st.calib, s.transform))
        row.update(s.sizes(st.calib, st.block, st.pack))  # sizes: the same calibration windows as the KL
        rows.append(row)
    return pd.DataFrame(rows)


def turning_points(df: pd.DataFrame, threshold: float = accuracy.KL_THRESHOLD) -> pd.DataFrame:
    """Per (method, tensor): the highest-CR setting whose mean KL is within ``threshold``."""
    rows = []
    for (m, t), g in df.groupby(["method", "tensor"], sort=False):
        g = g.reset_index(drop=True)
        i = accuracy.turning_point(g["kl"].tolist(), threshold, g["cr"].tolist())
        if i is None:
            rows.append({"method": m, "tensor": t, "setting": None, "kl": np.nan, "cr": np.nan})
            continue
        r = g.iloc[i]
        rows.append({k: r[k] for k in ("method", "tensor", "setting", "rel", "bits", "group", "kl", "top1", "dppl",
                                      "attn_err", "cr") if k in r} |
                    ({k: r[k] for k in ("cr_quant_only", "cr_plain_quant", "cr_median")} if m == "packkv" else {}))
    return pd.DataFrame(rows)


def setting_of(row) -> Setting:
    g = None if pd.isna(row.get("group")) else int(row["group"])
    b = None if pd.isna(row.get("bits")) else int(row["bits"])
    r = None if pd.isna(row.get("rel")) else float(row["rel"])
    return Setting(row["method"], row["tensor"], rel=r, bits=b, group=g)


@_threads
def heldback_check(st: Setup, tps: pd.DataFrame) -> pd.DataFrame:
    """Perplexity change and KL on the held-back windows at every turning point (pre-registered limit +5 %)."""
    rows = []
    for _, r in tps.iterrows():
        if not isinstance(r["setting"], str):
            continue
        s = setting_of(r)
        m = accuracy.evaluate(st.model, st.heldback, s.transform)
        rows.append({"method": s.method, "tensor": s.tensor, "setting": s.label, **m})
    return pd.DataFrame(rows)


def v_gain(df: pd.DataFrame) -> pd.DataFrame:
    """V: packing gain per rel over quantization alone, repository style (``gain``: same codes at a fixed width,
    integer zero point's extra level included) and over a plain quantizer with the same step (``gain_plain``)."""
    v = df[(df.method == "packkv") & (df.tensor == "V")].copy()
    v["gain"] = v["cr"] / v["cr_quant_only"] - 1
    v["gain_plain"] = v["cr"] / v["cr_plain_quant"] - 1
    v["gain_median"] = v["cr_median"] / v["cr_quant_only"] - 1
    return v[["rel", "kl", "cr_quant_only", "cr_plain_quant", "cr", "cr_median", "gain", "gain_plain",
              "gain_median"]].reset_index(drop=True)


def gain_grows(v: pd.DataFrame, column: str = "gain_plain") -> tuple[bool | None, float]:
    """Does the packing gain grow with the error bound? (Spearman rho of ``column`` vs rel > 0.5, judged against the
    plain quantizer so one extra code level cannot make the trend; ``(None, nan)``: fewer than 3 rels, no trend.)"""
    if len(v) < 3:
        return None, float("nan")
    rho = float(pd.Series(v[column].to_numpy()).corr(pd.Series(v["rel"].to_numpy()), method="spearman"))
    return bool(rho > 0.5), rho


def layer_kv(st: Setup, windows=None) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(q, K, V) per layer of the first calibration window: last evaluated query, the compressed context K and V."""
    win = (windows or st.calib)[0]
    n = win.n_compressed
    return [(q, k[:, :n], v[:, :n]) for (q, _, _), k, v in zip(win.captured, win.k, win.v)]


def save_layer_kv(captured, path, layers: int = 8) -> Path:
    """Write the first ``layers`` (q, K, V) triples of :func:`layer_kv` to ``path`` (npz, float32; ``.npz`` is
    appended as NumPy does when missing) and return the path written: the GPU benchmark then runs on a machine
    without the model file (``benchmarks/packkv.py --captured``). Written through a temporary file beside it and
    renamed, so a failed write never leaves a half-written file under the name."""
    if not 1 <= layers <= len(captured):
        raise ValueError(f"layers must be in 1..{len(captured)}, got {layers}")
    arrays = {f"{name}{i}": np.asarray(x, np.float32) for i, t in enumerate(captured[:layers])
              for name, x in zip("qkv", t)}
    path = Path(path)
    if path.suffix != ".npz":
        path = path.with_name(path.name + ".npz")
    with atomic_writer(path) as f:
        np.savez_compressed(f, **arrays)
    return path


def load_layer_kv(path) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """The (q, K, V) triples written by :func:`save_layer_kv`, in layer order."""
    with np.load(path) as z:
        n = sum(1 for k in z.files if k.startswith("q"))
        if n == 0 or set(z.files) != {f"{c}{i}" for c in "qkv" for i in range(n)}:
            raise ValueError(f"{path} is not a file written by save_layer_kv (keys {sorted(z.files)[:6]}...)")
        return [(z[f"q{i}"], z[f"k{i}"], z[f"v{i}"]) for i in range(n)]


def pack_reorder_table(captured, rel_k: float = 0.1, rel_v: float = 0.2, packs=(8, 16, 32),
                       reorders=("none", "median", "greedy"), layers=None, block: int = 64) -> pd.DataFrame:
    """Compression ratio of K and V (packed + scale/zero) for each pack size and reordering method."""
    layers = range(len(captured)) if layers is None else layers
    rows = []
    for pack in packs:
        for ro in reorders:
            fp, bk, bv = 0, 0, 0
            for li in layers:
                _, k, v = captured[li]
                pl = compress_layer(k, v, rel_k, rel_v, block, pack, ro)
                fp += 2 * k.size
                bk += pl.nbytes_k
                bv += pl.nbytes_v
            rows.append({"pack": pack, "reorder": ro, "cr_k": fp / bk, "cr_v": fp / bv})
    return pd.DataFrame(rows)


def block_view(captured, layer: int, block_index: int = 0, rel_k: float = 0.1, rel_v: float = 0.2,
               block: int = 64) -> dict:
    """One block's V codes before and after MEDIAN reordering, and the width histograms of K and V."""
    _, k, v = captured[layer]
    plain = compress_layer(k, v, rel_k, rel_v, block)
    med = compress_layer(k, v, rel_k, rel_v, block, reorder="median")
    sl = slice(block_index * block, (block_index + 1) * block)
    return {"v_codes": plain.vq.codes[sl], "v_codes_median": med.vq.codes[sl],
            "k_widths": plain.k.width_histogram(), "v_widths": plain.v.width_histogram(),
            "v_widths_median": med.v.width_histogram(), "k_raw_bits": plain.k.raw_bits,
            "v_raw_bits": plain.v.raw_bits}


def rel_error_bound(x: np.ndarray, rel: float) -> np.ndarray:
    """Per-element bound the paper states for per-token quantization (§3), from the input alone: ``rel/2`` of the
    token's value range (float16 step rounding 2**-10, step floor 2**-14), float16 precision for a constant token."""
    xt = token_major(np.asarray(x, np.float64))
    r = np.ptp(xt, axis=1)[:, None]
    varying = 0.5 * np.maximum(rel * r * (1 + 2.0 ** -10), 2.0 ** -14)
    return np.where(r > 0, varying, 2.0 ** -11 * np.abs(xt) + 2.0 ** -25) + 1e-6 * np.abs(xt)


def integrity(captured, rel_k: float, rel_v: float, block: int = 64, pack: int = 16,
              rng: np.random.Generator | None = None) -> dict:
    """Exactness checks on every captured layer: lossless packing, the error bound ``rel/2 x token range``
    (:func:`rel_error_bound`, not the stored step), fused == decompress+matmul, byte-identical re-encoding."""
    rng = rng or np.random.default_rng(0)
    lossless, bound_ok, worst, qk_err, wv_err = True, True, 0.0, 0.0, 0.0
    h = hashlib.sha256()
    for q, k, v in captured:
        n = k.shape[1]
        for ro in ("none", "median"):
            pl = compress_layer(k, v, rel_k, rel_v, block, pack, ro)
            for p, tq in ((pl.k, pl.kq), (pl.v, pl.vq)):
                lossless &= bool(np.array_equal(bitpack.decode(bitpack.PackedTiles.from_bytes(p.to_bytes())),
                                                tq.codes))
            kh, vh = pl.dequantize()
            for x, xh, rel in ((k, kh, rel_k), (v, vh, rel_v)):
                bound = rel_error_bound(x, rel)
                err = np.abs(token_major(x).astype(np.float64) - token_major(xh))
                bound_ok &= bool(np.all(err <= bound))
                worst = float(np.maximum(worst, np.max(err / bound)))  # NaN propagates (max() would drop it)
            qv = q[:, -1].astype(np.float64)
            w = rng.random((q.shape[0], n))
            a, b = fused.qk_packed(qv, pl), fused.qk_dense(qv, pl)
            qk_err = float(np.maximum(qk_err, np.max(np.abs(a - b)) / np.max(np.abs(b))))
            a, b = fused.wv_packed(w, pl), fused.wv_dense(w, pl)
            wv_err = float(np.maximum(wv_err, np.max(np.abs(a - b)) / np.max(np.abs(b))))
            if ro == "none":
                h.update(pl.k.to_bytes()), h.update(pl.v.to_bytes())
    return {"lossless": lossless, "error_bound": bound_ok, "worst_err_over_bound": worst, "fused_qk_rel_err": qk_err,
            "fused_wv_rel_err": wv_err, "sha256": h.hexdigest()}


def fused_exact_claim(chk: dict) -> dict[str, tuple[float, str]]:
    """The fused_exact claim (name -> (error, note)) from :func:`integrity`'s result: the worse relative error of
    fused q.K^T and attn.V against decompress-then-multiply, judged by the claim's bound; a NaN in either is the value."""
    qk, wv = chk["fused_qk_rel_err"], chk["fused_wv_rel_err"]
    return {"fused_exact": (worst_of(qk, wv), f"max rel. error qK {qk:.1e}, wV {wv:.1e}")}


def cpu_matvec(captured, rel_k: float = 0.1, rel_v: float = 0.2, layer: int = 0, repeat: int = 8,
               reps: int = 5, block: int = 64) -> dict:
    """CPU timing of the NumPy fused operators vs NumPy matmul on the decompressed float32 cache (not a claim:
    the NumPy fused path is a reference, the speed claim is about GPU kernels)."""
    q, k, v = captured[layer]
    kk = np.tile(k, (1, repeat, 1))
    vv = np.tile(v, (1, repeat, 1))
    pl = compress_layer(kk, vv, rel_k, rel_v, block)
    K, V = pl.dequantize(original_order=False)
    g = q.shape[0] // k.shape[0]
    qv = q[:, -1].astype(np.float32)
    w = np.full((q.shape[0], kk.shape[1]), 1.0 / kk.shape[1], np.float32)

    def t(fn):
        ts = []
        for _ in range(reps):
            t0 = time.perf_counter()
            fn()
            ts.append(time.perf_counter() - t0)
        return float(np.median(ts))

    qg = qv.reshape(k.shape[0], g, -1)
    wg = w.reshape(k.shape[0], g, -1)
    res = {"tokens": int(kk.shape[1]),
           "t_dense_qk_s": t(lambda: qg @ K.transpose(0, 2, 1)), "t_fused_qk_s": t(lambda: fused.qk_packed(qv, pl)),
           "t_dense_wv_s": t(lambda: wg @ V), "t_fused_wv_s": t(lambda: fused.wv_packed(w, pl))}
    res["ratio_qk"] = res["t_dense_qk_s"] / res["t_fused_qk_s"]
    res["ratio_wv"] = res["t_dense_wv_s"] / res["t_fused_wv_s"]
    return res


@_threads
def growing_cache(st: Setup, prompt_len: int, n_new: int, rel_k: float, rel_v: float) -> dict:
    """Greedy decoding with the dense cache and with :class:`PackKVCache` (fused attention on packed blocks):
    bytes held after every step and agreement of the generated tokens."""
    from support.packkv.blocks import PackKVCache

    m = st.model
    prompt = st.calib[0].ctx[:prompt_len]
    dense = m.generate(prompt, n_new)
    cache = PackKVCache(m.config.n_layers, rel_k, rel_v, st.recent, st.block, st.pack, xp=m.xp)
    rows, toks = [], []
    lg = m.forward(prompt, cache=cache, logits="last")
    for step in range(n_new + 1):
        b = cache.nbytes()
        rows.append({"tokens": cache.length(0), "fp16_bytes": b["fp16_equivalent"],
                     "packkv_bytes": b["packed_k"] + b["packed_v"] + b["fp_window"],
                     "packed_bytes": b["packed_k"] + b["packed_v"], "window_bytes": b["fp_window"],
                     "window_tokens": cache.buffer_length(0)})
        if step == n_new:
            break
        t = int(np.argmax(to_numpy(lg[-1])))
        toks.append(t)
        lg = m.forward([t], cache=cache, logits="last")
    toks = np.asarray(toks)
    return {"bytes": pd.DataFrame(rows), "dense_tokens": dense, "packkv_tokens": toks,
            "agreement": float(np.mean(dense == toks)),
            "window_in_range": bool(all(st.recent <= r["window_tokens"] < st.recent + st.block for r in rows))}


def unit_range_per_token(x: np.ndarray) -> np.ndarray:
    """``x`` ``(H, n, D)`` mapped per token onto [0, 1] over all its heads and channels: the affine change that
    per-token quantization (:func:`support.packkv.quantize.quantize_tokens`) is invariant to up to its zero-point
    rounding, so each source layer of :func:`llama_like` keeps its own per-token scale when layers are joined."""
    x = np.asarray(x, np.float32)
    mn, mx = x.min(axis=(0, 2), keepdims=True), x.max(axis=(0, 2), keepdims=True)
    return (x - mn) / np.maximum(mx - mn, np.finfo(np.float32).tiny)


def llama_like(captured, n_kv: int = 8, head_dim: int = 128, tensor: int = 1) -> np.ndarray:
    """Real SmolLM2 K (``tensor=1``) or V (2) rearranged into ``n_kv`` heads of ``head_dim`` channels: the 64-channel
    heads of consecutive layers are concatenated in pairs (Llama-3.1-8B geometry for the throughput runs).

    Each source layer is first mapped per token onto [0, 1] (:func:`unit_range_per_token`), so that one scale per
    token across the joined heads quantizes every source layer as finely as compressing it alone would; without
    this the small-range layers quantize to a few levels and the joined cache packs better than a real layer."""
    heads = [h for x in captured for h in unit_range_per_token(x[tensor])]
    per = head_dim // heads[0].shape[1]
    if len(heads) < n_kv * per:
        raise ValueError(f"need {n_kv * per} captured heads, have {len(heads)}")
    return np.stack([np.concatenate(heads[i * per:(i + 1) * per], axis=1) for i in range(n_kv)])


def gpu_check(captured, rel_k: float, rel_v: float, emulate: bool = False, layers: int = 4) -> dict:
    """CuPy kernels vs the NumPy fused path on real layers: max error / max|ref| (acceptance: <= 1e-3).
    ``emulate``: the same CUDA kernels run on the CPU by :mod:`support.cuda_emu` (no GPU needed; keys prefixed
    ``emulated_``). The layers are compressed in the kernels' own 64-token blocks (``gpu.BLOCK``), whatever block
    the notebook's CPU experiments use: the kernels take no other size."""
    from support.packkv import gpu
    from support.xp import to_numpy as host

    cp, prefix = gpu.array_module(emulate), "emulated" if emulate else "gpu"
    e_qk = e_wv = 0.0
    for q, k, v in captured[:layers]:
        n = k.shape[1]
        pl = compress_layer(k, v, rel_k, rel_v, gpu.BLOCK)
        H, D = q.shape[0], q.shape[2]
        Hkv = k.shape[0]
        qv = q[:, -1].astype(np.float64)
        w = np.random.default_rng(1).random((H, n))
        ref_qk = fused.qk_packed(qv, pl)
        ref_wv = fused.wv_packed(w, pl)
        dk, dv = gpu.to_device([pl], "k", emulate=emulate), gpu.to_device([pl], "v", emulate=emulate)
        got_qk = host(gpu.qk(dk, cp.asarray(qv.reshape(1, Hkv, H // Hkv, D)))).reshape(H, n)
        got_wv = host(gpu.wv(dv, cp.asarray(w.reshape(1, Hkv, H // Hkv, n)))).reshape(H, D)
        e_qk = max(e_qk, float(np.abs(got_qk - ref_qk).max() / np.abs(ref_qk).max()))
        e_wv = max(e_wv, float(np.abs(got_wv - ref_wv).max() / np.abs(ref_wv).max()))
    return {f"{prefix}_qk_rel_err": e_qk, f"{prefix}_wv_rel_err": e_wv}


def throughput_layer(captured, rel_k: float = 0.1, rel_v: float = 0.2, n_kv: int = 8, head_dim: int = 128,
                     block: int = 64):
    """The compressed cache the GPU throughput runs time: :func:`llama_like` K and V compressed once."""
    K, V = llama_like(captured, n_kv, head_dim, 1), llama_like(captured, n_kv, head_dim, 2)
    return compress_layer(K, V, rel_k, rel_v, block)


def device_caches(pl, batch: int, context: int, emulate: bool = False) -> tuple:
    """``(packed K, packed V, dense fp16 K, dense fp16 V)`` of ``batch`` sequences of ``pl``, its tiles repeated to
    reach at least ``context`` tokens: the inputs of the fused kernels and of both fp16 baselines."""
    from support.packkv import gpu

    rep, layers = max(1, -(-context // pl.n_tokens)), [pl] * batch
    return (gpu.to_device(layers, "k", rep, emulate), gpu.to_device(layers, "v", rep, emulate),
            gpu.dense_fp16(layers, "k", rep, emulate), gpu.dense_fp16(layers, "v", rep, emulate))


def gpu_throughput(captured, contexts=(1024, 4096, 16384, 32768), batches=(1, 8), rel_k: float = 0.1,
                   rel_v: float = 0.2, n_kv: int = 8, head_dim: int = 128, gq: int = 4, reps: int = 20,
                   block: int = 64, seed: int = 0) -> pd.DataFrame:
    """Fused PackKV kernels vs cuBLAS fp16 mat-vec (``cupy.matmul``) on the decompressed cache, same run, same card,
    and vs the same kernels reading the dense fp16 cache (``dense_qk``/``dense_wv``: the compression's own gain).

    KV: real SmolLM2 K/V in Llama-3.1-8B geometry (:func:`llama_like`), compressed once, tiles repeated to reach
    each context. Timings: median of ``reps`` CUDA-event timings after warm-up. Speedup = t_cuBLAS / t_PackKV.
    """
    import cupy as cp

    from support.packkv import gpu

    pl = throughput_layer(captured, rel_k, rel_v, n_kv, head_dim, block)
    name = gpu.device_name()
    peak = gpu.peak_bandwidth(name)
    rows, rng = [], cp.random.RandomState(seed)
    for B in batches:
        for ctx in contexts:
            dk, dv, K16, V16 = device_caches(pl, B, ctx)
            T = dk.n_tokens
            q = rng.standard_normal((B, n_kv, gq, head_dim), dtype=cp.float32)
            w = rng.random_sample((B, n_kv, gq, T), dtype=cp.float32)
            w /= w.sum(axis=-1, keepdims=True)
            q16 = q.reshape(B * n_kv, gq, head_dim).astype(cp.float16)
            w16 = w.reshape(B * n_kv, gq, T).astype(cp.float16)
            t_qk = gpu.time_ms(functools.partial(gpu.qk, dk, q), reps)
            t_wv = gpu.time_ms(functools.partial(gpu.wv, dv, w), reps)
            b_qk = gpu.time_ms(functools.partial(gpu.baseline_qk, K16, q16), reps)
            b_wv = gpu.time_ms(functools.partial(gpu.baseline_wv, V16, w16), reps)
            d_qk = gpu.time_ms(functools.partial(gpu.dense_qk, K16, q, n_kv), reps)
            d_wv = gpu.time_ms(functools.partial(gpu.dense_wv, V16, w, n_kv), reps)
            ref = cp.asnumpy(gpu.baseline_qk(K16, q16).astype(cp.float32))
            got = cp.asnumpy(gpu.qk(dk, q)).reshape(ref.shape)
            dense_err = float(np.abs(cp.asnumpy(gpu.dense_qk(K16, q, n_kv)).reshape(ref.shape) - ref).max()
                              / np.abs(ref).max())
            fp16_bytes = 2 * K16.size
            rows.append({"device": name, "batch": B, "context": T, "t_packkv_k_ms": t_qk, "t_cublas_k_ms": b_qk,
                         "t_packkv_v_ms": t_wv, "t_cublas_v_ms": b_wv, "speedup_k": b_qk / t_qk,
                         "speedup_v": b_wv / t_wv, "t_dense_k_ms": d_qk, "t_dense_v_ms": d_wv,
                         "speedup_k_vs_dense": d_qk / t_qk, "speedup_v_vs_dense": d_wv / t_wv,
                         "dense_k_GBps": fp16_bytes / d_qk / 1e6, "dense_v_GBps": fp16_bytes / d_wv / 1e6,
                         "packkv_k_GBps": dk.nbytes / t_qk / 1e6,
                         "packkv_v_GBps": dv.nbytes / t_wv / 1e6, "cublas_k_GBps": fp16_bytes / b_qk / 1e6,
                         "cublas_v_GBps": fp16_bytes / b_wv / 1e6, "peak_GBps": peak / 1e9 if peak else None,
                         "cr_k": fp16_bytes / dk.nbytes, "cr_v": fp16_bytes / dv.nbytes,
                         "max_err_vs_cublas": float(np.abs(got - ref).max() / np.abs(ref).max()),
                         "dense_err_vs_cublas": dense_err})
    return pd.DataFrame(rows)


def recorded_gpu_throughput() -> tuple[pd.DataFrame | None, str]:
    """The newest recorded GPU throughput table (:mod:`support.gpu_runs`) and where it comes from, for machines
    without a GPU; ``(None, reason)`` when no run was recorded."""
    from support import gpu_runs

    rec = gpu_runs.find("packkv_benchmark.json")
    if rec is None:
        return None, "not measured here: no CUDA GPU in this run and no recorded GPU run"
    return pd.DataFrame(rec.load("packkv_benchmark.json")["gpu_throughput"]), rec.label("packkv_benchmark.json")


def best_baseline_gain_pct(tp: pd.DataFrame, t: str) -> float:
    """Mean over rows of ``min(t_cublas, t_dense) / t_packkv - 1`` (%) for tensor ``t`` ("k" or "v"): each row
    against the faster fp16 baseline of that row (cuBLAS alone where the dense kernel was not timed)."""
    base = tp[f"t_cublas_{t}_ms"]
    if f"t_dense_{t}_ms" in tp:
        base = np.minimum(base, tp[f"t_dense_{t}_ms"].fillna(np.inf))
    return float(100 * ((base / tp[f"t_packkv_{t}_ms"]).mean() - 1))


def gpu_summary(tp: pd.DataFrame) -> dict:
    """Throughput gains (mean over contexts and batches) vs the faster baseline per row (the claims), vs cuBLAS
    and vs the same kernels on the dense fp16 cache, and the best fraction of peak HBM bandwidth cuBLAS reached."""
    peak = tp["peak_GBps"].max()
    out = {"k_gain_vs_best_pct": best_baseline_gain_pct(tp, "k"), "v_gain_vs_best_pct": best_baseline_gain_pct(tp, "v"),
           "k_gain_vs_cublas_pct": 100 * (tp["speedup_k"].mean() - 1),
           "v_gain_vs_cublas_pct": 100 * (tp["speedup_v"].mean() - 1)}
    if "speedup_k_vs_dense" in tp:
        out |= {"k_speedup_vs_dense_kernel": tp["speedup_k_vs_dense"].mean(),
                "v_speedup_vs_dense_kernel": tp["speedup_v_vs_dense"].mean(),
                "dense_kernel_peak_fraction": max(tp["dense_k_GBps"].max(), tp["dense_v_GBps"].max()) / peak}
    out["cublas_peak_fraction"] = max(tp["cublas_k_GBps"].max(), tp["cublas_v_GBps"].max()) / peak
    return out


def throughput_claims(tp: pd.DataFrame | None, source: str) -> dict[str, tuple[float | None, str]]:
    """The two throughput claims (name -> (gain %, note)) from a GPU throughput table and where it comes from;
    ``(None, source)`` for both without a table, so the recorder marks them not applicable with that reason.

    The gain is per row against the faster baseline (:func:`best_baseline_gain_pct`); the note gives the gain over
    cuBLAS alone, the source, the dense-kernel ratios when timed, and the caveat on the joined-layer data."""
    if tp is None:
        return {f"{t}_throughput_gain": (None, source) for t in ("k", "v")}
    s = gpu_summary(tp)
    caveat = (f"same kernels on the dense fp16 cache: K {s['k_speedup_vs_dense_kernel']:.2f}x, "
              f"V {s['v_speedup_vs_dense_kernel']:.2f}x; cuBLAS reached at most {s['cublas_peak_fraction']:.0%} "
              "of peak HBM bandwidth; " if "k_speedup_vs_dense_kernel" in s else "")
    caveat += (f"data: 8 heads of 128 channels joined from the 64-channel heads of 6 SmolLM2 layers, one scale per "
               f"token across them (CR K {tp.cr_k.mean():.2f}, V {tp.cr_v.mean():.2f}, above a native "
               "layer's), so the gains are likely optimistic")
    return {f"{t}_throughput_gain": (
        s[f"{t}_gain_vs_best_pct"],
        (f"mean over contexts and batches of min(t_cuBLAS, t_dense kernel) / t_PackKV - 1 per row; "
         f"vs cuBLAS alone (the paper's baseline) {s[f'{t}_gain_vs_cublas_pct']:+.1f} %; {source}; {caveat}"))
        for t in ("k", "v")}


def plot_gpu_throughput(tp: pd.DataFrame, source: str = ""):
    """Milliseconds per mat-vec against the context: fused PackKV, cuBLAS fp16 and (when timed) the same kernels on
    the dense fp16 cache, one panel per tensor, solid batch 1 / dashed larger batches."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
    methods = [("packkv", "PackKV fused", "C0"), ("cublas", "cuBLAS fp16 (cupy.matmul)", "C3"),
               ("dense", "same kernel, dense fp16", "C2")]
    for ax, t in zip(axes, ("k", "v")):
        for bsz, g in tp.groupby("batch"):
            for key, label, color in methods:
                col = f"t_{key}_{t}_ms"
                if col in g:
                    ax.plot(g["context"], g[col], "o-" if bsz == tp.batch.min() else "s--", color=color,
                            label=f"{label}, batch {bsz}")
        ax.set(xscale="log", yscale="log", xlabel="context (tokens)", ylabel="ms per mat-vec (median)",
               title=f"{'q.K^T' if t == 'k' else 'attn.V'} on {tp.device.iloc[0]}")
        ax.legend(fontsize=7)
    if source:
        fig.suptitle(source, fontsize=8)
    fig.tight_layout()
    return fig


def _k_gain_without_kivi_turning_point(df: pd.DataFrame, pk) -> tuple[float | None, str]:
    """K claim when PackKV has a turning point and KIVI none: the gain over KIVI's most accurate setting is a lower
    bound of the gain at equal accuracy; judged only if that bound already reproduces the claim."""
    k = df[(df.method == "kivi") & (df.tensor == "K") & np.isfinite(df.kl)]
    if k.empty:
        return None, "no KIVI K setting was measured: nothing to compare PackKV's turning point with"
    best = k.loc[k["kl"].idxmin()]
    lb = 100 * (pk["cr"] / best["cr"] - 1)
    note = (f"no KIVI setting is within the KL threshold (most accurate: {best['setting']}, KL {best['kl']:.4f}, "
            f"CR {best['cr']:.2f}) while {pk['setting']} is (CR {pk['cr']:.2f}, KL {pk['kl']:.4f}): the gain at equal "
            f"accuracy is at least {lb:+.1f} % (KIVI's CR falls as its accuracy rises)")
    if CLAIMS["k_cr_gain_vs_kivi"].judge(lb) is Verdict.REPRODUCED:
        return lb, note + "; recorded: the lower bound already meets the claim"
    return None, note + "; that lower bound cannot settle the claim"


def _heldback_worst(hb: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series | None]:
    """PackKV's held-back rows and the worst of them, the one with the largest CI upper end (None without a PackKV
    row): the one rule of "which held-back row is the worst" for the metrics and the claim."""
    p = hb[hb.method == "packkv"] if len(hb) else hb
    return p, (p.loc[p["dppl_hi"].idxmax()] if len(p) else None)


def heldback_metrics(hb: pd.DataFrame) -> dict[str, float]:
    """Worst PackKV turning point on held-back text (largest CI upper end): point change, upper end and half-width
    of its paired 95 % interval (%), scored tokens; empty without a PackKV row. Kept as metrics at every scale."""
    _, w = _heldback_worst(hb)
    if w is None:
        return {}
    return {"heldback_dppl_pct": 100 * float(w["dppl"]), "heldback_dppl_hi_pct": 100 * float(w["dppl_hi"]),
            "heldback_ci_half_width_pct": 50 * float(w["dppl_hi"] - w["dppl_lo"]),
            "heldback_tokens": int(w["n_tokens"])}


def summarize(df: pd.DataFrame, tps: pd.DataFrame, hb: pd.DataFrame) -> dict:
    """Measured values for the claims, with notes saying where they come from. A value ``None`` means nothing could
    be measured (the note says why; the notebook marks the claim not applicable)."""
    def tp(method, tensor):
        r = tps[(tps.method == method) & (tps.tensor == tensor)]
        return None if r.empty or not isinstance(r.iloc[0]["setting"], str) else r.iloc[0]

    out: dict = {}
    pk, kv = tp("packkv", "K"), tp("kivi", "K")
    if pk is None:
        out["k_cr_gain_vs_kivi"] = (None, "no PackKV K setting is within the KL threshold: nothing to compare")
    elif kv is None:
        out["k_cr_gain_vs_kivi"] = _k_gain_without_kivi_turning_point(df, pk)
    else:
        note = (f"{pk['setting']} CR {pk['cr']:.2f} (KL {pk['kl']:.4f}) vs "
                f"{kv['setting']} CR {kv['cr']:.2f} (KL {kv['kl']:.4f})")
        ch = tp("channel-rel", "K")
        if ch is not None:  # the PackKV repository's own baseline, beside the nominal-bit KIVI one
            note += (f"; vs the repository-style channel quantizer ({ch['setting']}, CR {ch['cr']:.2f}): "
                     f"{100 * (pk['cr'] / ch['cr'] - 1):+.1f} %")
        out["k_cr_gain_vs_kivi"] = (100 * (pk["cr"] / kv["cr"] - 1), note)
    pv = tp("packkv", "V")
    if pv is not None:  # judged over the plain same-step quantizer, the baseline of the growth claim too
        note = (f"{pv['setting']}: plain same-step quantizer CR {pv['cr_plain_quant']:.2f} -> packed {pv['cr']:.2f} "
                f"(MEDIAN reorder {pv['cr_median']:.2f}); repository-style quant-only store CR "
                f"{pv['cr_quant_only']:.2f}, gain over it {100 * (pv['cr'] / pv['cr_quant_only'] - 1):+.1f} %")
        out["v_cr_gain_vs_quant"] = (100 * (pv["cr"] / pv["cr_plain_quant"] - 1), note)
    else:
        out["v_cr_gain_vs_quant"] = (None, "no PackKV V setting is within the KL threshold: no turning point")
    vg = v_gain(df)
    grows, rho = gain_grows(vg, "gain_plain")
    if grows is None:
        out["v_gain_grows_with_rel"] = (None, f"{len(vg)} V error bound(s) in the sweep: a trend needs at least 3")
    else:
        _, rho_repo = gain_grows(vg, "gain")
        gains = ", ".join(f"rel {r:g}: {100 * g:+.0f} %" for r, g in zip(vg.rel, vg.gain_plain))
        repo = ", ".join(f"{100 * g:+.0f} %" for g in vg.gain)
        note = (f"gains over a plain quantizer with the same step: {gains}; Spearman rho {rho:.2f} "
                f"(repository-style quant-only baseline: {repo}, rho {rho_repo:.2f})")
        out["v_gain_grows_with_rel"] = (grows, note)
    out["heldback_dppl"] = _heldback_claim(hb)
    return out


def _heldback_claim(hb: pd.DataFrame) -> tuple[float | None, str]:
    """Largest CI upper end over PackKV turning points (%), or ``None`` when no row could decide: a row decides if it
    passes (upper end <= +5 %) or if its CI half-width is within 5 % (a zero change would then have passed)."""
    p, worst = _heldback_worst(hb)
    if worst is None:
        return None, "no PackKV turning point: nothing to check on held-back text"
    m = heldback_metrics(hb)  # the same worst row's figures
    note = (f"upper end of the paired 95 % CI, worst PackKV turning point on held-back text: {worst['setting']} "
            f"({worst['tensor']}), PPL {worst['ppl_ref']:.2f} -> {worst['ppl']:.2f}, change "
            f"{100 * worst['dppl']:+.2f} % (95 % CI {100 * worst['dppl_lo']:+.2f} to "
            f"{100 * worst['dppl_hi']:+.2f} %, {int(worst['n_tokens'])} tokens)")
    lim = accuracy.PPL_THRESHOLD
    passes = p["dppl_hi"] <= lim
    resolved = (p["dppl_hi"] - p["dppl_lo"]) / 2 <= lim
    if passes.all() or (~passes & resolved).any():
        return m["heldback_dppl_hi_pct"], note
    return None, (note + f"; the CI half-width ({m['heldback_ci_half_width_pct']:.1f} %) exceeds the "
                  f"+{100 * lim:g} % limit, so these tokens cannot resolve it (value kept as a metric)")


__all__ = [
    "Setting",
    "Setup",
    "best_baseline_gain_pct",
    "block_view",
    "check_parameters",
    "cpu_matvec",
    "default_settings",
    "device_caches",
    "fused_exact_claim",
    "gain_grows",
    "gpu_available",
    "gpu_check",
    "gpu_throughput",
    "growing_cache",
    "heldback_check",
    "heldback_metrics",
    "integrity",
    "layer_kv",
    "llama_like",
    "pack_reorder_table",
    "rel_error_bound",
    "setup",
    "summarize",
    "sweep",
    "throughput_claims",
    "throughput_layer",
    "turning_points",
    "unit_range_per_token",
    "v_gain",
]
