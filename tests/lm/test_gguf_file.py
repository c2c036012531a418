"""The fast GGUF reader gives what the reference reader (``gguf.GGUFReader``, from llama.cpp's gguf-py) gives: every
metadata value with its Python type, every tensor's type, shape and bytes; a malformed file is one clear error."""

from __future__ import annotations

import struct

import gguf
import numpy as np
import pytest

from support.lm.gguf_file import GGUFFormatError, read_gguf
from support.lm.gguf_loader import ModelFileError, load_gguf, smollm2_path


def _reference(path):
    r = gguf.GGUFReader(str(path))
    return r, {k: f.contents() for k, f in r.fields.items() if not k.startswith("GGUF.")}


def _assert_same_as_reference(path):
    ref, ref_fields = _reference(path)
    ours = read_gguf(path)
    assert ours.version == int(ref.fields["GGUF.version"].contents())
    assert list(ours.fields) == list(ref_fields)
    for k, v in ref_fields.items():
        assert ours.fields[k] == v and type(ours.fields[k]) is type(v), k
        if isinstance(v, list):
            assert [type(x) for x in ours.fields[k]] == [type(x) for x in v], k
    assert list(ours.tensors) == [t.name for t in ref.tensors]
    for t in ref.tensors:
        o = ours.tensors[t.name]
        assert o.ggml_type == int(t.tensor_type) and o.shape == tuple(t.shape.tolist()), t.name
        assert o.data.dtype == t.data.dtype and o.data.shape == t.data.shape, t.name
        np.testing.assert_array_equal(o.data, t.data)
    return ours


def _write_every_kind(path, alignment=64):
    w = gguf.GGUFWriter(str(path), "llama")
    w.add_custom_alignment(alignment)
    for add, key, val in [(w.add_uint8, "u8", 250), (w.add_int8, "i8", -7), (w.add_uint16, "u16", 65000),
                          (w.add_int16, "i16", -30000), (w.add_uint32, "u32", 4_000_000_000),
                          (w.add_int32, "i32", -2_000_000_000), (w.add_float32, "f32", 0.1),
                          (w.add_uint64, "u64", 2**63 + 5), (w.add_int64, "i64", -2**62),
                          (w.add_float64, "f64", 1 / 3), (w.add_bool, "yes", True), (w.add_bool, "no", False),
                          (w.add_string, "s", "Grüße, ✓")]:
        add(f"t.{key}", val)
    w.add_array("t.strings", ["a", "", "ünï", "merge me"])
    w.add_array("t.ints", [1, -2, 3])
    w.add_array("t.floats", [0.5, -1.25])
    w.add_array("t.bools", [True, False, True])
    rng = np.random.default_rng(0)
    w.add_tensor("f32", rng.standard_normal((3, 5)).astype(np.float32))
    w.add_tensor("f16", rng.standard_normal((2, 7)).astype(np.float16))
    w.add_tensor("i32", np.arange(6, dtype=np.int32).reshape(2, 3))
    q = rng.standard_normal((4, 64)).astype(np.float32)
    for qtype in (gguf.GGMLQuantizationType.Q8_0, gguf.GGMLQuantizationType.Q4_0):
        w.add_tensor(qtype.name, gguf.quants.quantize(q, qtype), raw_dtype=qtype)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path


def test_reader_matches_the_reference_reader_on_the_smollm2_model():
    _assert_same_as_reference(smollm2_path())


def test_reader_matches_the_reference_reader_on_every_value_type_and_a_custom_alignment(tmp_path):
    ours = _assert_same_as_reference(_write_every_kind(tmp_path / "every.gguf"))
    assert ours.fields["general.alignment"] == 64 and ours.fields["t.s"] == "Grüße, ✓"
    assert ours.fields["t.u64"] == 2**63 + 5 and ours.fields["t.bools"] == [True, False, True]
    deq = gguf.quants.dequantize(ours.tensors["Q8_0"].data, gguf.GGMLQuantizationType.Q8_0)
    assert deq.shape == (4, 64)


def test_quantized_smollm2_tensors_dequantize_to_the_reference_readers_values():
    ref, _ = _reference(smollm2_path())
    ours = read_gguf(smollm2_path())
    t = next(t for t in ref.tensors if t.tensor_type == gguf.GGMLQuantizationType.Q4_1)
    np.testing.assert_array_equal(gguf.quants.dequantize(ours.tensors[t.name].data, t.tensor_type),
                                  gguf.quants.dequantize(t.data, t.tensor_type))


def test_every_truncation_of_a_file_is_a_format_error_naming_the_file(tmp_path):
    path = _write_every_kind(tmp_path / "full.gguf")
    full = path.read_bytes()
    ref = gguf.GGUFReader(str(path))
    end = max(t.data_offset + t.n_bytes for t in ref.tensors)  # the writer pads the file past the last tensor
    cut = tmp_path / "cut.gguf"
    for n in [0, 3, 4, 10, 23, 24, 40, 100, 300, end - 1] + list(range(end - 700, end, 97)):
        cut.write_bytes(full[:n])
        with pytest.raises(GGUFFormatError, match="cut.gguf"):
            read_gguf(cut)


def test_wrong_magic_unknown_version_and_unknown_value_type_are_named(tmp_path):
    f = tmp_path / "x.gguf"
    f.write_bytes(b"GGML" + bytes(40))
    with pytest.raises(GGUFFormatError, match="not a GGUF file"):
        read_gguf(f)
    f.write_bytes(b"GGUF" + struct.pack("<IQQ", 99, 0, 0))
    with pytest.raises(GGUFFormatError, match="GGUF version 99"):
        read_gguf(f)
    f.write_bytes(b"GGUF" + struct.pack("<I", 3 << 24) + bytes(16))  # version 3 written big-endian
    with pytest.raises(GGUFFormatError, match="big-endian"):
        read_gguf(f)
    key = b"k.bad"
    f.write_bytes(b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + struct.pack("<Q", len(key)) + key + struct.pack("<I", 13))
    with pytest.raises(GGUFFormatError, match="'k.bad' has unknown value type 13"):
        read_gguf(f)


def test_a_bad_alignment_is_refused(tmp_path):
    f = tmp_path / "x.gguf"
    key = b"general.alignment"
    f.write_bytes(b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + struct.pack("<Q", len(key)) + key + struct.pack("<II", 4, 48))
    with pytest.raises(GGUFFormatError, match="power of two, got 48"):
        read_gguf(f)


def test_the_loader_turns_a_format_error_into_a_model_file_error(tmp_path):
    f = tmp_path / "x.gguf"
    f.write_bytes(smollm2_path().read_bytes()[:5000])
    with pytest.raises(ModelFileError, match="x.gguf is not a readable GGUF file: .*truncated"):
        load_gguf(f)


def test_a_tensor_name_given_twice_is_refused_as_the_reference_reader_does(tmp_path):
    """Two tensor infos named "w" (F32, 1 element, offsets 0 and 32): the second would silently replace the first.
    Oracle: gguf.GGUFReader refuses the same file."""
    info = struct.pack("<Q", 1) + b"w" + struct.pack("<IQIQ", 1, 1, 0, 0)
    head = b"GGUF" + struct.pack("<IQQ", 3, 2, 0) + info + info[:-8] + struct.pack("<Q", 32)
    f = tmp_path / "dup.gguf"
    f.write_bytes(head + bytes(-len(head) % 32) + np.arange(16, dtype=np.float32).tobytes())
    with pytest.raises(ValueError, match="(?i)duplicat"):
        gguf.GGUFReader(str(f))
    with pytest.raises(GGUFFormatError, match="dup.gguf: tensor 'w' appears twice"):
        read_gguf(f)
