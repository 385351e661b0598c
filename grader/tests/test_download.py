"""Tests for helpers.download against a threaded HTTP server on 127.0.0.1 (no network).

The server supports Range requests and can cut a body in half, answer 404/500, ignore Range,
or serve a .gz; a temporary manifest points the downloader at it.

Run: ``python -m pytest grader/tests/test_download.py -q``
"""
from __future__ import annotations

import errno
import gzip
import hashlib
import json
import random
import socket
import subprocess
import sys
from collections import namedtuple
from pathlib import Path

import pytest
from http_server import LocalServer, Route

from helpers import download as dl
from helpers.env import REPO_ROOT

DATA = random.Random(0).randbytes(300_000)
OTHER = random.Random(1).randbytes(300_000)  # same size, different bytes


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write_manifest(path: Path, files: list[dict]) -> Path:
    """A one-dataset manifest ("demo") whose URLs point nowhere: tests pass --url-base."""
    for f in files:
        f.setdefault("url", f"http://invalid.example/{f['name']}")
    entry = {"description": "test data", "homepage": "-", "licence": "MIT", "files": files}
    path.write_text(json.dumps({"version": 1, "datasets": {"demo": entry}}), encoding="utf-8")
    return path


def get(tmp_path: Path, server: LocalServer, files: list[dict], **options) -> list[Path]:
    manifest = write_manifest(tmp_path / "manifest.json", files)
    options = {"retries": 0, "backoff": 0.0, "timeout": 5.0, "progress": False,
               "checksums": tmp_path / "checksums.local.json", **options}
    return dl.download("demo", tmp_path / "out", manifest=manifest, url_base=server.url,
                       **options)


def spec(name: str = "data.bin", data: bytes = DATA, **extra) -> dict:
    return {"name": name, "size": len(data), "sha256": sha(data), **extra}


# ---------------------------------------------------------------------------------------------
# The real manifest
# ---------------------------------------------------------------------------------------------
def test_manifest_lists_the_four_files_with_checks():
    manifest = dl.load_manifest()
    assert set(manifest["datasets"]) == {"tinystories", "owt"}
    urls = {f["name"]: f["url"] for d in manifest["datasets"].values() for f in d["files"]}
    ts = "https://huggingface.co/datasets/roneneldan/TinyStories/resolve/main/"
    owt = "https://huggingface.co/datasets/stanford-cs336/owt-sample/resolve/main/"
    assert urls == {"TinyStoriesV2-GPT4-train.txt": ts + "TinyStoriesV2-GPT4-train.txt",
                    "TinyStoriesV2-GPT4-valid.txt": ts + "TinyStoriesV2-GPT4-valid.txt",
                    "owt_train.txt.gz": owt + "owt_train.txt.gz",
                    "owt_valid.txt.gz": owt + "owt_valid.txt.gz"}
    for entry in manifest["datasets"].values():
        assert entry["licence"] and entry["provenance"] and entry["licence_source"]
        for f in entry["files"]:
            assert isinstance(f["size"], int) and f["size"] > 0, f["name"]
            assert f["sha256"] is None or (len(f["sha256"]) == 64 and
                                           int(f["sha256"], 16) >= 0), f["name"]
            assert f["checksum_source"], f"{f['name']}: say where the checksum comes from"
            assert f.get("gunzip", False) == f["name"].endswith(".gz")
    assert manifest["datasets"]["tinystories"]["licence"] == "CDLA-Sharing-1.0"


# ---------------------------------------------------------------------------------------------
# Downloads
# ---------------------------------------------------------------------------------------------
def test_download_verifies_and_renames_atomically(tmp_path, server):
    server.routes["data.bin"] = Route(DATA)
    [path] = get(tmp_path, server, [spec()])
    assert path == tmp_path / "out" / "data.bin"
    assert path.read_bytes() == DATA
    assert sorted(p.name for p in path.parent.iterdir()) == ["data.bin"], "no .part left"
    assert server.log == [("data.bin", None)]


def test_cut_transfer_is_resumed_with_a_range_request(tmp_path, server):
    server.routes["data.bin"] = Route(DATA, fail_times=1, cut=True)
    [path] = get(tmp_path, server, [spec()], retries=2)
    assert path.read_bytes() == DATA
    assert server.log == [("data.bin", None), ("data.bin", f"bytes={len(DATA) // 2}-")]


def test_existing_part_file_is_resumed(tmp_path, server):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "data.bin.part").write_bytes(DATA[:1000])
    server.routes["data.bin"] = Route(DATA)
    [path] = get(tmp_path, server, [spec()])
    assert path.read_bytes() == DATA
    assert server.log == [("data.bin", "bytes=1000-")]


def test_server_that_ignores_range_restarts_from_zero(tmp_path, server):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "data.bin.part").write_bytes(b"garbage" * 100)
    server.routes["data.bin"] = Route(DATA, honor_range=False)
    [path] = get(tmp_path, server, [spec()])
    assert path.read_bytes() == DATA, "a 200 answer to a Range request must replace the .part"


def test_http_404_fails_at_once_with_the_status(tmp_path, server):
    with pytest.raises(dl.DownloadError, match="HTTP 404"):
        get(tmp_path, server, [spec()], retries=3)
    assert len(server.log) == 1, "a 404 is not transient: no retries"
    assert not (tmp_path / "out" / "data.bin").exists()


def test_http_500_is_retried_with_backoff(tmp_path, server):
    server.routes["data.bin"] = Route(DATA, status=500, fail_times=2)
    [path] = get(tmp_path, server, [spec()], retries=3)
    assert path.read_bytes() == DATA
    assert len(server.log) == 3


def test_http_500_gives_up_after_the_retries(tmp_path, server):
    server.routes["data.bin"] = Route(DATA, status=500, fail_times=-1)
    with pytest.raises(dl.DownloadError, match=r"HTTP 500.*gave up after 3 attempts"):
        get(tmp_path, server, [spec()], retries=2)
    assert len(server.log) == 3


def test_corrupt_content_fails_the_checksum_and_is_set_aside(tmp_path, server):
    server.routes["data.bin"] = Route(OTHER)  # same size, other bytes
    with pytest.raises(dl.DownloadError, match="sha256 mismatch") as err:
        get(tmp_path, server, [spec()])
    assert sha(OTHER) in str(err.value) and sha(DATA) in str(err.value)
    out = tmp_path / "out"
    assert not (out / "data.bin").exists(), "a bad download must never get the final name"
    assert (out / "data.bin.corrupt").read_bytes() == OTHER
    assert not (out / "data.bin.part").exists()


def test_size_different_from_the_manifest_is_refused(tmp_path, server):
    server.routes["data.bin"] = Route(DATA + b"extra")
    with pytest.raises(dl.DownloadError, match="manifest says"):
        get(tmp_path, server, [spec()])
    assert not (tmp_path / "out" / "data.bin").exists()


def test_gz_is_verified_then_unpacked(tmp_path, server):
    packed = gzip.compress(DATA, mtime=0)
    server.routes["data.txt.gz"] = Route(packed)
    unpacked = {"name": "data.txt", "size": len(DATA), "sha256": sha(DATA)}
    files = [spec("data.txt.gz", packed, gunzip=True, unpacked=unpacked)]
    [path] = get(tmp_path, server, files)
    assert path == tmp_path / "out" / "data.txt"
    assert path.read_bytes() == DATA
    assert not (tmp_path / "out" / "data.txt.gz").exists(), "the .gz is removed by default"
    path.unlink()
    [path] = get(tmp_path, server, files, keep_gz=True)
    assert path.read_bytes() == DATA and (tmp_path / "out" / "data.txt.gz").exists()


def test_unpacked_mismatch_is_reported(tmp_path, server, capsys):
    packed = gzip.compress(DATA, mtime=0)
    server.routes["data.txt.gz"] = Route(packed)
    unpacked = {"name": "data.txt", "size": len(DATA), "sha256": sha(OTHER)}
    [path] = get(tmp_path, server, [spec("data.txt.gz", packed, gunzip=True, unpacked=unpacked)])
    assert path.read_bytes() == DATA
    assert f"differs from the manifest's {sha(OTHER)}" in capsys.readouterr().err


def test_no_published_checksum_needs_trust_on_first_use(tmp_path, server):
    server.routes["data.bin"] = Route(DATA)
    files = [spec(sha256=None)]
    with pytest.raises(dl.DownloadError, match="--trust-on-first-use") as err:
        get(tmp_path, server, files)
    assert f"sha256 is {sha(DATA)}" in str(err.value), "the message must show the digest"
    out = tmp_path / "out"
    assert not (out / "data.bin").exists() and (out / "data.bin.unverified").exists()

    [path] = get(tmp_path, server, files, trust_on_first_use=True)
    assert path.read_bytes() == DATA
    assert len(server.log) == 1, "the refused download is reused, not fetched again"
    recorded = json.loads((tmp_path / "checksums.local.json").read_text())
    assert recorded["demo/data.bin"]["sha256"] == sha(DATA)

    path.unlink()  # the remote file changes: the recorded digest now protects us
    server.routes["data.bin"] = Route(OTHER)
    with pytest.raises(dl.DownloadError, match="first download"):
        get(tmp_path, server, files)


def test_existing_file_is_not_downloaded_again(tmp_path, server):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "data.bin").write_bytes(DATA)
    [path] = get(tmp_path, server, [spec()])
    assert path.read_bytes() == DATA and server.log == []


def test_unreachable_server_says_the_machine_may_be_offline(tmp_path):
    with socket.socket() as s:  # a port that nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    manifest = write_manifest(tmp_path / "manifest.json", [spec()])
    with pytest.raises(dl.DownloadError, match="offline"):
        dl.download("demo", tmp_path / "out", manifest=manifest,
                    url_base=f"http://127.0.0.1:{port}", retries=0, progress=False)


def test_not_enough_disk_space_is_refused_before_downloading(tmp_path, server, monkeypatch):
    server.routes["data.bin"] = Route(DATA)
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(dl.shutil, "disk_usage", lambda path: usage(100, 90, 10))
    with pytest.raises(dl.DownloadError, match="not enough disk space"):
        get(tmp_path, server, [spec()])
    assert server.log == []


def test_disk_full_while_writing_is_a_clear_error(tmp_path, server, monkeypatch):
    server.routes["data.bin"] = Route(DATA)

    class FullDisk:
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def write(self, chunk):
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(dl, "_open_for_append", lambda path, offset: FullDisk())
    with pytest.raises(dl.DownloadError, match="disk full"):
        get(tmp_path, server, [spec()])


# ---------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------
def test_cli_list_names_both_datasets(capsys):
    assert dl.main(["list"]) == 0
    out = capsys.readouterr().out
    assert "tinystories" in out and "owt" in out and "CDLA-Sharing-1.0" in out


@pytest.mark.parametrize("argv, message", [
    (["get", "nosuch"], "unknown dataset 'nosuch'"),
    ([], "required"),
    (["fetch"], "invalid choice"),
    (["get", "owt", "--retries", "-1"], "--retries"),
])
def test_cli_bad_arguments_exit_2(argv, message, capsys):
    with pytest.raises(SystemExit) as exc:
        dl.main(argv)
    assert exc.value.code == 2
    assert message in capsys.readouterr().err


def test_cli_get_with_url_base(tmp_path, server, capsys):
    server.routes["data.bin"] = Route(DATA)
    manifest = write_manifest(tmp_path / "manifest.json", [spec()])
    argv = ["--manifest", str(manifest), "get", "demo", "--dest", str(tmp_path / "out"),
            "--url-base", server.url, "--retries", "0", "--checksums", str(tmp_path / "c.json")]
    assert dl.main(argv) == 0
    assert (tmp_path / "out" / "data.bin").read_bytes() == DATA
    server.routes["data.bin"] = Route(OTHER)
    (tmp_path / "out" / "data.bin").unlink()
    assert dl.main(argv) == 1
    assert "error:" in capsys.readouterr().err


def test_modules_import_without_network():
    """Importing the data helpers must not touch the network: run with sockets disabled."""
    code = ("import socket\n"
            "def no(*a, **k): raise AssertionError('network used at import')\n"
            "socket.socket.connect = no\nsocket.create_connection = no\n"
            "import helpers.download, helpers.stories\n"
            "raise SystemExit(helpers.download.main(['list']))\n")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "tinystories" in result.stdout
