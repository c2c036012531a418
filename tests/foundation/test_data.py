"""support.data: mirror first, sha256 checked, one clear error naming file, mirror path and URL."""

import json
import shutil

import pytest

from support import data as D


def test_registry_entries_have_sha256_size_and_license():
    reg = D._registry()
    assert len(reg) >= 40
    for entry in reg.values():
        assert len(entry.sha256) == 64 and entry.size > 0 and entry.license
        assert entry.url is None or entry.url.startswith("https://")


def test_registry_matches_the_mirror_manifests():
    root = D.mirror_root()
    if root is None or not (root / "MANIFEST.md").is_file():
        pytest.skip("no data mirror here")
    assert D.registry_from_manifests(root) == json.loads(D.REGISTRY_PATH.read_text())


def test_fetch_returns_the_mirror_copy_after_checking_its_hash():
    root = D.mirror_root()
    if root is None:
        pytest.skip("no data mirror here")
    p = D.fetch("acvp/SLH-DSA-keyGen-FIPS205/prompt.json")
    assert p.is_file() and D.sha256_of(p) == D._registry()["acvp/SLH-DSA-keyGen-FIPS205/prompt.json"].sha256


def test_corrupt_mirror_copy_is_reported_with_path_and_url(tmp_path, monkeypatch):
    key = "loghub/LICENSE"
    (tmp_path / "loghub").mkdir()
    (tmp_path / key).write_text("tampered")
    monkeypatch.setenv(D.DATA_ENV, str(tmp_path))
    with pytest.raises(D.DataError) as e:
        D.fetch(key)
    msg = str(e.value)
    assert "corrupt" in msg and str(tmp_path / key) in msg and "raw.githubusercontent.com" in msg


def test_missing_file_with_failed_download_names_file_mirror_and_url(tmp_path, monkeypatch):
    import pooch

    def refuse(*a, **k):
        raise ConnectionError("network unreachable")

    monkeypatch.setenv(D.DATA_ENV, str(tmp_path))
    monkeypatch.setattr(pooch, "retrieve", refuse)
    with pytest.raises(D.DataError) as e:
        D.fetch("azure/LICENSE")
    msg = str(e.value)
    assert "azure/LICENSE" in msg and str(tmp_path / "azure/LICENSE") in msg and "https://" in msg


def test_mirror_only_file_without_mirror_says_so(tmp_path, monkeypatch):
    monkeypatch.setenv(D.DATA_ENV, str(tmp_path))
    with pytest.raises(D.DataError, match="only in the project mirror"):
        D.fetch("taubench/retail/tool_schemas.json")


def test_unknown_key_suggests_close_names():
    with pytest.raises(D.DataError, match="did you mean"):
        D.fetch("loghub/LICENCE")


def test_good_copy_in_a_custom_mirror_is_used(tmp_path, monkeypatch):
    root = D.mirror_root()
    if root is None:
        pytest.skip("no data mirror here")
    key = "loghub/LICENSE"
    (tmp_path / "loghub").mkdir()
    shutil.copy(root / key, tmp_path / key)
    monkeypatch.setenv(D.DATA_ENV, str(tmp_path))
    assert D.fetch(key) == tmp_path / key


@pytest.fixture
def registry_copy(tmp_path, monkeypatch):
    """The registry as a private copy, so ``python -m support.data`` cannot touch the real one."""
    path = tmp_path / "data_registry.json"
    shutil.copy(D.REGISTRY_PATH, path)
    monkeypatch.setattr(D, "REGISTRY_PATH", path)
    return path


def test_help_prints_usage_and_leaves_the_registry_alone(registry_copy, capsys):
    before = registry_copy.read_bytes()
    registry_copy.write_bytes(b"{}")  # a rebuild from the mirror would overwrite this
    with pytest.raises(SystemExit) as e:
        D.main(["--help"])
    assert e.value.code == 0 and capsys.readouterr().out.startswith("usage: python -m support.data")
    assert registry_copy.read_bytes() == b"{}" and before != b"{}"


def test_without_a_mirror_it_exits_1_naming_the_variable_and_leaves_the_registry_alone(registry_copy, tmp_path,
                                                                                        monkeypatch, capsys):
    before = registry_copy.read_bytes()
    monkeypatch.setenv(D.DATA_ENV, str(tmp_path / "no-mirror"))
    assert D.main([]) == 1
    err = capsys.readouterr().err
    assert "no data mirror found" in err and D.DATA_ENV in err and str(tmp_path / "no-mirror") in err
    assert registry_copy.read_bytes() == before


def test_it_rebuilds_the_registry_from_the_mirror_manifests(registry_copy, tmp_path, monkeypatch):
    mirror = tmp_path / "mirror"
    (mirror / "demo").mkdir(parents=True)
    (mirror / "MANIFEST.md").write_text("| demo/ | https://example.org | MIT | demo |\n")
    (mirror / "demo/MANIFEST.md").write_text(
        "Upstream file = https://example.org/<upstream path>\n\n"
        f"| a.txt | dir/a.txt | 3 | {'0' * 64} |\n")
    monkeypatch.setenv(D.DATA_ENV, str(mirror))
    assert D.main([]) == 0
    assert json.loads(registry_copy.read_text()) == {"demo/a.txt": {
        "url": "https://example.org/dir/a.txt", "sha256": "0" * 64, "size": 3, "license": "MIT"}}


def test_sha256_of_a_file_larger_than_one_read_chunk_is_hashlibs_digest_of_all_its_bytes(tmp_path):
    """Oracle: hashlib over the whole content; 2.5 MiB spans three of sha256_of's 1 MiB reads."""
    import hashlib

    content = bytes(range(256)) * (10 * 1024 + 1)  # 2.5 MiB + 256 bytes, each chunk different from the last
    path = tmp_path / "big.bin"
    path.write_bytes(content)
    assert D.sha256_of(path) == hashlib.sha256(content).hexdigest()


def _registered(monkeypatch, key, sha256, url="https://example.org/x"):
    """Make the registry hold only ``key`` with the given digest (the real registry stays untouched)."""
    monkeypatch.setattr(D, "_registry", lambda: {key: D.DataFile(key, url, sha256, 1, "MIT")})


def test_a_mirror_copy_whose_digest_differs_only_after_the_shown_prefix_is_still_corrupt(tmp_path, monkeypatch):
    """The full 64-hex digest is compared, not the 12 characters the message shows."""
    import hashlib

    key = "demo/a.txt"
    (tmp_path / "demo").mkdir()
    (tmp_path / key).write_bytes(b"abc")
    real = hashlib.sha256(b"abc").hexdigest()
    last = "0" if real[-1] != "0" else "1"
    _registered(monkeypatch, key, real[:-1] + last)
    monkeypatch.setenv(D.DATA_ENV, str(tmp_path))
    with pytest.raises(D.DataError, match="corrupt"):
        D.fetch(key)
    _registered(monkeypatch, key, real)
    assert D.fetch(key) == tmp_path / key


def test_a_download_is_verified_against_the_registered_sha256(tmp_path, monkeypatch):
    """Without a mirror copy, pooch must be given the registry's digest (pooch refuses a file that does not match);
    a folder where the file should be is no mirror copy."""
    import pooch

    key, digest = "demo/a.txt", "ab" * 32
    _registered(monkeypatch, key, digest)
    (tmp_path / key).mkdir(parents=True)  # a directory, not a file: not a mirror copy
    monkeypatch.setenv(D.DATA_ENV, str(tmp_path))
    seen = {}

    def fake_retrieve(url, known_hash, **kw):
        seen.update(url=url, known_hash=known_hash)
        return str(tmp_path / "downloaded")

    monkeypatch.setattr(pooch, "retrieve", fake_retrieve)
    assert D.fetch(key) == tmp_path / "downloaded"
    assert seen == {"url": "https://example.org/x", "known_hash": f"sha256:{digest}"}


def test_manifests_listing_no_file_leave_the_registry_alone_and_exit_1(registry_copy, tmp_path, monkeypatch,
                                                                          capsys):
    before = registry_copy.read_bytes()
    mirror = tmp_path / "mirror"
    (mirror / "demo").mkdir(parents=True)
    (mirror / "MANIFEST.md").write_text("| demo/ | https://example.org | MIT | demo |\n")
    (mirror / "demo/MANIFEST.md").write_text("no table here\n")
    monkeypatch.setenv(D.DATA_ENV, str(mirror))
    assert D.main([]) == 1
    assert "list no file" in capsys.readouterr().err
    assert registry_copy.read_bytes() == before
