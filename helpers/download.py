"""Download the full-size corpora (TinyStories V2, an OpenWebText sample) named in
``datasets/manifest.json``, verified, resumable, standard library only (urllib) plus tqdm.

- Nothing downloads at import or test time; only ``get`` touches the network.
- Streams to ``<dest>.part`` and resumes it with an HTTP Range request (a server that ignores
  Range makes us start over); retries transient failures (connection errors, 5xx, 429)
  with exponential backoff; 4xx errors fail at once with the status.
- Checks the size and the sha256 from the manifest before an atomic rename into place. A file
  that fails is kept as ``<dest>.corrupt`` (never used) and the error says so.
- No invented checksums: an entry whose sha256 is null is downloaded, kept as
  ``<dest>.unverified`` and refused, with its digest printed. ``--trust-on-first-use``
  accepts it and records the digest in ``DATA_DIR/checksums.local.json``; later downloads
  must match that record.
- ``.gz`` files can be unpacked (streamed) after verification; the unpacked file is checked
  against the manifest's ``unpacked`` size/sha256 when those are known.

Run: ``python -m helpers.download list``, ``python -m helpers.download get tinystories``
(``--dest DIR``, ``--url-base URL`` for a mirror); Common Crawl files by path:
``python -m helpers.download cc crawl-data/CC-MAIN-2024-10/segments/.../x.warc.wet.gz``
(read through and digest-checked, sha256 recorded on first use; lesson 07). Test:
``python -m pytest grader/tests/test_download.py grader/tests/test_cc_filtering.py -q``
(against a local HTTP server, no network).
"""
from __future__ import annotations

import argparse
import errno
import gzip
import hashlib
import http.client
import json
import os
import shutil
import socket
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from helpers.env import DATA_DIR, DATASETS_DIR

MANIFEST = DATASETS_DIR / "manifest.json"
CHECKSUMS = DATA_DIR / "checksums.local.json"
CHUNK = 1 << 20  # 1 MiB reads: few syscalls, small memory
USER_AGENT = "lm-from-scratch-kit/0.1 (helpers.download)"
OFFLINE_HINT = ("This machine may be offline (course machines reach only package registries). "
                "Download on a connected machine and copy the files into the destination, or "
                "point --url-base at a mirror you can reach.")


class DownloadError(RuntimeError):
    """A download that failed, with a message meant for the person who ran it."""


class _Retryable(Exception):
    """A transient failure (connection, 5xx, truncated body): try again after a pause."""


@dataclass(frozen=True)
class FileSpec:
    """One file of a manifest entry."""

    name: str
    url: str
    size: int | None
    sha256: str | None
    gunzip: bool = False
    unpacked_name: str | None = None
    unpacked_size: int | None = None
    unpacked_sha256: str | None = None


def load_manifest(path: str | Path = MANIFEST) -> dict:
    """The manifest as a dict: {"datasets": {name: {..., "files": [...]}}}."""
    return json.loads(Path(path).read_text(encoding="utf-8"))


def file_specs(manifest: dict, dataset: str, url_base: str | None = None) -> list[FileSpec]:
    """The files of one dataset; ``url_base`` replaces everything before each file name."""
    entry = manifest["datasets"][dataset]
    specs = []
    for f in entry["files"]:
        unpacked = f.get("unpacked") or {}
        url = f"{url_base.rstrip('/')}/{f['name']}" if url_base else f["url"]
        specs.append(FileSpec(f["name"], url, f.get("size"), f.get("sha256"),
                              bool(f.get("gunzip")), unpacked.get("name"),
                              unpacked.get("size"), unpacked.get("sha256")))
    return specs


# ---------------------------------------------------------------------------------------------
# Checksums recorded on first use
# ---------------------------------------------------------------------------------------------
def _load_local_checksums(path: Path) -> dict[str, dict]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}


def _record_local_checksum(path: Path, url: str, size: int, sha256: str) -> None:
    data = _load_local_checksums(path)
    data[url] = {"size": size, "sha256": sha256, "recorded": time.strftime("%Y-%m-%d")}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


# ---------------------------------------------------------------------------------------------
# HTTP with Range resume
# ---------------------------------------------------------------------------------------------
def _open_for_append(path: Path, offset: int) -> BinaryIO:
    """Open the .part file positioned at ``offset`` (truncating anything beyond it)."""
    f = open(path, "r+b" if path.exists() else "wb")
    f.seek(offset)
    f.truncate()
    return f


def _describe_url_error(url: str, err: BaseException) -> str:
    reason = getattr(err, "reason", err)
    return f"could not reach {url}: {reason}. {OFFLINE_HINT}"


def _request(url: str, offset: int, timeout: float) -> http.client.HTTPResponse:
    """GET with ``Range: bytes=offset-`` when resuming. Raises _Retryable or DownloadError."""
    headers = {"User-Agent": USER_AGENT}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    try:
        return urllib.request.urlopen(urllib.request.Request(url, headers=headers),
                                      timeout=timeout)
    except urllib.error.HTTPError as err:
        if err.code == 416:  # our offset is at or past the end: the caller decides
            raise
        message = f"HTTP {err.code} {err.reason} for {url}"
        if err.code >= 500 or err.code == 429:
            raise _Retryable(message) from err
        raise DownloadError(message) from err
    except urllib.error.URLError as err:
        if isinstance(err.reason, socket.gaierror):  # no DNS: retrying will not help
            raise DownloadError(_describe_url_error(url, err)) from err
        raise _Retryable(_describe_url_error(url, err)) from err
    except (TimeoutError, ConnectionError, http.client.HTTPException) as err:
        raise _Retryable(_describe_url_error(url, err)) from err


def _fetch_once(url: str, part: Path, expected_size: int | None, timeout: float,
                progress: bool) -> None:
    """One attempt: append the rest of ``url`` to ``part``. Raises _Retryable if cut short."""
    offset = part.stat().st_size if part.exists() else 0
    if expected_size is not None and offset > expected_size:
        offset = 0  # a stale .part larger than the file: start over
    if expected_size is not None and offset == expected_size:
        return  # finished last time, interrupted before verification
    try:
        response = _request(url, offset, timeout)
    except urllib.error.HTTPError as err:  # 416: our offset is past the end of the file
        part.unlink(missing_ok=True)
        raise _Retryable(f"HTTP 416 for {url} at offset {offset}; starting over") from err
    with response:
        if offset and response.status != 206:
            offset = 0  # the server ignored Range and sends the whole file
        elif offset and not _content_range_starts_at(response, offset):
            part.unlink(missing_ok=True)
            raise _Retryable(f"{url} answered a Range request with another range; starting over")
        length = response.headers.get("Content-Length")
        total = offset + int(length) if length is not None else expected_size
        if expected_size is not None and total is not None and total != expected_size:
            raise DownloadError(f"{url} has {total:,} bytes but the manifest says "
                                f"{expected_size:,}: the remote file changed or the URL is "
                                "wrong; not downloading it")
        _copy_body(response, part, offset, total, progress)


def _content_range_starts_at(response: http.client.HTTPResponse, offset: int) -> bool:
    """True if a 206 response's ``Content-Range: bytes START-END/TOTAL`` starts at offset."""
    value = response.headers.get("Content-Range", "")
    try:
        return int(value.split()[1].split("-")[0]) == offset
    except (IndexError, ValueError):
        return False


def _copy_body(response: http.client.HTTPResponse, part: Path, offset: int,
               total: int | None, progress: bool) -> None:
    """Stream the body into ``part`` from ``offset``; translate a full disk and short reads."""
    from tqdm.auto import tqdm

    written = offset
    bar = tqdm(total=total, initial=offset, unit="B", unit_scale=True, desc=part.name[:-5],
               disable=not progress)
    try:
        with _open_for_append(part, offset) as f:
            while True:
                try:
                    chunk = response.read(CHUNK)
                except (TimeoutError, http.client.HTTPException, ConnectionError) as err:
                    raise _Retryable(f"connection lost after {written:,} bytes "
                                     f"({type(err).__name__})") from err
                if not chunk:
                    break
                f.write(chunk)
                written += len(chunk)
                bar.update(len(chunk))
    except OSError as err:
        if err.errno == errno.ENOSPC:
            raise DownloadError(f"disk full while writing {part} ({written:,} bytes written); "
                                f"free some space in {part.parent} and rerun to resume") from err
        raise
    finally:
        bar.close()
    if total is not None and written < total:
        raise _Retryable(f"connection closed after {written:,} of {total:,} bytes")


def _check_free_space(directory: Path, needed: int) -> None:
    free = shutil.disk_usage(directory).free
    if needed > free:
        raise DownloadError(f"not enough disk space in {directory}: need {needed:,} bytes, "
                            f"{free:,} free")


def fetch(url: str, dest: Path, size: int | None, *, retries: int = 3, backoff: float = 1.0,
          timeout: float = 60.0, progress: bool = True) -> Path:
    """Download ``url`` to ``dest.part`` (resuming it), retrying transient failures with
    backoff ``backoff * 2**attempt`` seconds; returns the .part path (not yet verified)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    if size is not None:
        have = part.stat().st_size if part.exists() else 0
        _check_free_space(dest.parent, max(0, size - have))
    for attempt in range(retries + 1):
        try:
            _fetch_once(url, part, size, timeout, progress)
            return part
        except _Retryable as err:
            if attempt == retries:
                resume = " Rerun to resume from the .part file." if part.exists() else ""
                tries = f"{retries + 1} attempt{'s' if retries else ''}"
                raise DownloadError(f"{err} (gave up after {tries}).{resume}") from err
            pause = backoff * 2 ** attempt
            print(f"{err}\n  retrying in {pause:g} s ({attempt + 1}/{retries})", file=sys.stderr)
            time.sleep(pause)
    raise AssertionError("unreachable")


# ---------------------------------------------------------------------------------------------
# Verification, unpacking, and one dataset end to end
# ---------------------------------------------------------------------------------------------
def _set_aside(path: Path, suffix: str) -> Path:
    """Rename a file that must not be used to ``<dest><suffix>`` (replacing an older one)."""
    aside = path.with_name(path.name.removesuffix(".part") + suffix)
    os.replace(path, aside)
    return aside


def _verify(part: Path, spec: FileSpec, key: str, checksums: Path, trust: bool) -> str:
    """Check size and sha256 of a finished download; returns the digest or raises."""
    size = part.stat().st_size
    if spec.size is not None and size != spec.size:
        aside = _set_aside(part, ".corrupt")
        raise DownloadError(f"{spec.name}: got {size:,} bytes, expected {spec.size:,}; "
                            f"kept the bad file as {aside} (not used)")
    digest = _sha256_file(part)
    recorded = _load_local_checksums(checksums).get(key)
    expected = spec.sha256 or (recorded or {}).get("sha256")
    if expected and digest != expected:
        where = "the manifest" if spec.sha256 else f"your first download ({checksums})"
        aside = _set_aside(part, ".corrupt")
        raise DownloadError(f"{spec.name}: sha256 mismatch: expected {expected} (from {where}), "
                            f"got {digest}; kept the bad file as {aside} (not used). Delete it "
                            "and rerun to download again.")
    if not expected:
        if not trust:
            aside = _set_aside(part, ".unverified")
            raise DownloadError(
                f"{spec.name}: no published checksum, so it cannot be verified. Its sha256 is "
                f"{digest} (kept as {aside}). Compare it with the hosting page if you can, then "
                f"rerun with --trust-on-first-use to accept it and record sha256={digest} in "
                f"{checksums}.")
        _record_local_checksum(checksums, key, size, digest)
        print(f"{spec.name}: recorded sha256={digest} in {checksums} (trust on first use)",
              file=sys.stderr)
    return digest


def _gunzip(src: Path, dest: Path, spec: FileSpec, progress: bool) -> None:
    """Stream-decompress ``src`` into ``dest`` (atomically); warn if it differs from the
    manifest's unpacked size/sha256 (those come from third-party reports, see the README)."""
    from tqdm.auto import tqdm

    if spec.unpacked_size is not None:
        _check_free_space(dest.parent, spec.unpacked_size)
    part = dest.with_name(dest.name + ".part")
    digest, size = hashlib.sha256(), 0
    bar = tqdm(total=spec.unpacked_size, unit="B", unit_scale=True, desc=f"gunzip {dest.name}",
               disable=not progress)
    try:
        with gzip.open(src, "rb") as fin, open(part, "wb") as fout:
            for chunk in iter(lambda: fin.read(CHUNK), b""):
                fout.write(chunk)
                digest.update(chunk)
                size += len(chunk)
                bar.update(len(chunk))
    except (OSError, EOFError) as err:
        part.unlink(missing_ok=True)
        if getattr(err, "errno", None) == errno.ENOSPC:
            raise DownloadError(f"disk full while unpacking {src} into {dest.parent}") from err
        raise DownloadError(f"could not unpack {src}: {err}") from err
    finally:
        bar.close()
    os.replace(part, dest)
    for what, want, got in (("size", spec.unpacked_size, size),
                            ("sha256", spec.unpacked_sha256, digest.hexdigest())):
        if want is not None and want != got:
            print(f"warning: {dest.name}: unpacked {what} {got} differs from the manifest's "
                  f"{want} (a third-party value; the .gz itself was verified)", file=sys.stderr)


def _already_there(path: Path, size: int | None) -> bool:
    return path.exists() and (size is None or path.stat().st_size == size)


def get_file(spec: FileSpec, dest_dir: Path, key: str, *, trust_on_first_use: bool = False,
             checksums: Path = CHECKSUMS, retries: int = 3, backoff: float = 1.0,
             timeout: float = 60.0, keep_gz: bool = False, progress: bool = True) -> Path:
    """Download, verify and (for .gz) unpack one file; returns the path to use."""
    dest = dest_dir / spec.name
    final = dest_dir / spec.unpacked_name if spec.gunzip and spec.unpacked_name else dest
    final_size = spec.unpacked_size if final != dest else spec.size
    if _already_there(final, final_size):
        print(f"{final} is already there ({final.stat().st_size:,} bytes)", file=sys.stderr)
        return final
    if not _already_there(dest, spec.size):
        unverified = dest.with_name(dest.name + ".unverified")
        if trust_on_first_use and unverified.exists():
            part = dest.with_name(dest.name + ".part")
            os.replace(unverified, part)  # reuse the download we refused last time
        else:
            part = fetch(spec.url, dest, spec.size, retries=retries, backoff=backoff,
                         timeout=timeout, progress=progress)
        _verify(part, spec, key, checksums, trust_on_first_use)
        os.replace(part, dest)
    if final != dest:
        _gunzip(dest, final, spec, progress)
        if not keep_gz:
            dest.unlink()
    return final


def download(dataset: str, dest: str | Path | None = None, *, manifest: str | Path = MANIFEST,
             url_base: str | None = None, **options) -> list[Path]:
    """Download every file of ``dataset`` into ``dest`` (default ``DATA_DIR/<dataset>``).
    ``options`` go to ``get_file`` (trust_on_first_use, checksums, retries, backoff, ...)."""
    data = load_manifest(manifest)
    if dataset not in data["datasets"]:
        raise KeyError(f"unknown dataset {dataset!r}; known: {', '.join(data['datasets'])}")
    dest_dir = Path(dest) if dest is not None else DATA_DIR / dataset
    dest_dir.mkdir(parents=True, exist_ok=True)
    return [get_file(spec, dest_dir, f"{dataset}/{spec.name}", **options)
            for spec in file_specs(data, dataset, url_base)]


# ---------------------------------------------------------------------------------------------
# Common Crawl WARC/WET/WAT files by path (lesson 07)
# ---------------------------------------------------------------------------------------------
def check_warc(path: Path) -> int:
    """Read every record of a (gzipped) WARC, WET or WAT file with fastwarc, checking each
    record's WARC-Block-Digest when it has one; the number of records, or DownloadError."""
    from fastwarc.warc import ArchiveIterator

    count = 0
    try:
        with open(path, "rb") as fh:
            for record in ArchiveIterator(fh, parse_http=False):
                if record.headers.get("WARC-Block-Digest") and not record.verify_block_digest():
                    raise DownloadError(f"{path.name}: record {count} fails its WARC-Block-Digest")
                count += 1
    except DownloadError:
        raise
    except Exception as err:  # gzip or WARC errors from fastwarc
        raise DownloadError(f"{path.name}: not a readable WARC file ({err})") from err
    if count == 0:
        raise DownloadError(f"{path.name}: no WARC records in it")
    return count


def download_cc(paths: list[str], dest: str | Path | None = None, *,
                manifest: str | Path = MANIFEST,
                url_base: str | None = None, checksums: Path = CHECKSUMS, retries: int = 3,
                backoff: float = 1.0, timeout: float = 60.0, progress: bool = True) -> list[Path]:
    """Download Common Crawl files by their path in the crawl (``crawl-data/CC-MAIN-...``,
    as listed in a crawl's ``warc.paths.gz``), resumably. Common Crawl publishes no
    checksums of whole files: each is read through (gzip integrity, every record's block
    digest) before it is accepted, and its sha256 is recorded on first use; a later download
    of the same path must match it."""
    cc = load_manifest(manifest)["common_crawl"]
    base = (url_base or cc["url_base"]).rstrip("/") + "/"
    dest_dir = Path(dest) if dest is not None else DATA_DIR / "common_crawl"
    out = []
    for path in paths:
        if not (path.startswith("crawl-data/") and path.endswith(".gz")) or ".." in path:
            raise DownloadError(f"{path!r} is not a Common Crawl file path: expected "
                                "crawl-data/CC-MAIN-<crawl>/.../<name>.warc.gz (or .warc.wet.gz, "
                                ".warc.wat.gz), one line of the crawl's warc.paths.gz")
        spec = FileSpec(Path(path).name, base + path, None, None)
        target = dest_dir / spec.name
        if not target.exists():
            part = fetch(spec.url, target, None, retries=retries, backoff=backoff,
                         timeout=timeout, progress=progress)
            try:
                check_warc(part)
            except DownloadError as err:
                raise DownloadError(f"{err}; kept as {_set_aside(part, '.corrupt')} (not used)")
            _verify(part, spec, f"common_crawl/{path}", checksums, trust=True)
            os.replace(part, target)
        out.append(target)
    return out


# ---------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------
def _human(n: int | None) -> str:
    if n is None:
        return "size unknown"
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1000
    return str(n)


def print_list(manifest: dict) -> None:
    """What ``list`` prints: each dataset, its licence, and its files with their checks."""
    for name, entry in manifest["datasets"].items():
        print(f"{name}: {entry['description']}")
        print(f"  licence: {entry['licence']}   source: {entry['homepage']}")
        for f in entry["files"]:
            check = "sha256 " + f["sha256"][:12] + "..." if f.get("sha256") else \
                "no published sha256 (needs --trust-on-first-use)"
            unpack = f" -> {f['unpacked']['name']}" if f.get("gunzip") else ""
            print(f"  {f['name']}{unpack}  {_human(f.get('size'))}  {check}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m helpers.download",
                                     description="Download the kit's full-size corpora.")
    parser.add_argument("--manifest", type=Path, default=MANIFEST, help=argparse.SUPPRESS)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="list the datasets in datasets/manifest.json")
    cc = sub.add_parser("cc", help="download Common Crawl WARC/WET files by path (lesson 07)")
    cc.add_argument("paths", nargs="+", help="crawl-data/CC-MAIN-.../....warc.wet.gz")
    cc.add_argument("--dest", type=Path, help="folder (default DATA_DIR/common_crawl)")
    cc.add_argument("--url-base", help="a mirror instead of data.commoncrawl.org")
    cc.add_argument("--checksums", type=Path, default=CHECKSUMS, help=argparse.SUPPRESS)
    get = sub.add_parser("get", help="download, verify and unpack one dataset")
    get.add_argument("dataset", help="a name from `list` (tinystories, owt)")
    get.add_argument("--dest", type=Path, help="folder for the files (default DATA_DIR/<name>)")
    get.add_argument("--url-base", help="fetch <url-base>/<file name> instead (a mirror)")
    get.add_argument("--trust-on-first-use", action="store_true",
                     help="accept a file that has no published checksum and record its sha256")
    get.add_argument("--checksums", type=Path, default=CHECKSUMS,
                     help="where trust-on-first-use digests are kept")
    get.add_argument("--retries", type=int, default=3, help="retries after a transient failure")
    get.add_argument("--backoff", type=float, default=1.0, help="first pause in seconds, doubled")
    get.add_argument("--timeout", type=float, default=60.0, help="socket timeout in seconds")
    get.add_argument("--keep-gz", action="store_true", help="keep .gz files after unpacking")
    args = parser.parse_args(argv)
    try:
        manifest = load_manifest(args.manifest)
    except (OSError, ValueError) as err:
        parser.error(f"cannot read the manifest {args.manifest}: {err}")
    if args.command == "list":
        print_list(manifest)
        return 0
    if args.command == "cc":
        try:
            paths = download_cc(args.paths, args.dest, manifest=args.manifest,
                                url_base=args.url_base, checksums=args.checksums)
        except DownloadError as err:
            print(f"error: {err}", file=sys.stderr)
            return 1
        print("\n".join(map(str, paths)))
        return 0
    if args.dataset not in manifest["datasets"]:
        parser.error(f"unknown dataset {args.dataset!r}; choose from: "
                     f"{', '.join(manifest['datasets'])}")
    if args.retries < 0 or args.backoff < 0 or args.timeout <= 0:
        parser.error("--retries and --backoff must be >= 0 and --timeout > 0")
    try:
        paths = download(args.dataset, args.dest, manifest=args.manifest, url_base=args.url_base,
                         trust_on_first_use=args.trust_on_first_use, checksums=args.checksums,
                         retries=args.retries, backoff=args.backoff, timeout=args.timeout,
                         keep_gz=args.keep_gz)
    except DownloadError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ninterrupted; rerun the same command to resume", file=sys.stderr)
        return 130
    for path in paths:
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
