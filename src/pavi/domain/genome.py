"""Indexed genome FASTA access: exact ranged reads through ``.fai`` and ``.gzi``.

A bgzip-compressed FASTA is a series of independent gzip members (BGZF blocks) of at
most 64 KiB of text each. The ``.fai`` index gives where each sequence's text starts
and how its lines are laid out; the ``.gzi`` index gives, for every block, its offset in
the compressed file and in the text. Together they say which blocks hold a region, so a
transcript costs only a few ranged reads of a few tens of KB, whatever the genome's size.

Index files are fetched once per process (:func:`open_fasta` caches the opened genome),
and decompressed blocks are kept in a small LRU cache, so neighbouring exons of one
transcript, or transcripts of one gene, do not read a block twice. The cache never outlives
the files: each job checks, once per genome, that the FASTA and its indexes are the versions
it was opened with (size and modification time here, the ETag on S3 and HTTP), and every
read of the FASTA asks for that version (``If-Match``), so a genome replaced at the same
URL is read anew, never through its old index.

Whether a FASTA is bgzip-compressed is read from its first bytes (the BGZF magic), not
from its URL. A BGZF block may inflate to 64 KiB at most, and index files have a bounded
size (:mod:`pavi.domain.limits`): a damaged or hostile file costs no unbounded memory.
"""

from __future__ import annotations

import re
import struct
import threading
import zlib
from bisect import bisect_right
from collections import OrderedDict
from dataclasses import dataclass

from pavi.domain.errors import GenomeAccessError, SequenceError, UrlNotAllowedError
from pavi.domain.limits import BGZF_BLOCK_TEXT, MAX_FAI_BYTES, MAX_GZI_BYTES
from pavi.domain.sources import ByteSource, Identity, open_source
from pavi.domain.url_policy import UrlPolicy

BGZF_MAGIC = b"\x1f\x8b\x08\x04"  # gzip, deflate, FEXTRA: then the 'BC' subfield at byte 12
GZIP_MAGIC = b"\x1f\x8b"
_NOT_A_BASE = re.compile(rb"[^ACGTUNRYKMSWBDHV]")  # IUPAC nucleotide letters, upper-cased
BLOCK_CACHE_SIZE = 256  # decompressed blocks kept per genome: at most 16 MiB
HEADER_LOOK_BACK = 4096  # bytes read before a sequence to find its header line


@dataclass(frozen=True)
class FaiRecord:
    """One line of a ``.fai`` index."""

    name: str
    length: int
    offset: int
    line_bases: int
    line_width: int

    def text_offset(self, position: int) -> int:
        """Offset in the (uncompressed) FASTA text of the 0-based ``position``."""
        return self.offset + (position // self.line_bases) * self.line_width + position % self.line_bases


def parse_fai(text: str, url: str) -> dict[str, FaiRecord]:
    records: dict[str, FaiRecord] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        fields = line.split("\t")
        try:
            name = fields[0]
            length, offset, line_bases, line_width = (int(f) for f in fields[1:5])
        except (IndexError, ValueError) as error:
            raise GenomeAccessError(f"{url}: line {number} is not a valid .fai line") from error
        if length < 0 or offset < 0:
            raise GenomeAccessError(
                f"{url}: line {number} is not a valid .fai line (negative length {length} or offset {offset})"
            )
        if line_bases <= 0 or line_width < line_bases:
            raise GenomeAccessError(f"{url}: line {number} has an impossible line layout")
        records[name] = FaiRecord(name, length, offset, line_bases, line_width)
    if not records:
        raise GenomeAccessError(f"{url}: the .fai index is empty")
    return records


def parse_gzi(data: bytes, url: str) -> tuple[list[int], list[int]]:
    """Compressed and uncompressed offsets of every block start, the first block included."""
    if len(data) < 8:
        raise GenomeAccessError(f"{url}: the .gzi index is truncated")
    (count,) = struct.unpack_from("<Q", data)
    if len(data) != 8 + 16 * count:
        raise GenomeAccessError(f"{url}: the .gzi index is corrupt (says {count} blocks, holds {len(data)} bytes)")
    pairs = struct.unpack_from(f"<{2 * count}Q", data, 8)
    compressed = [0, *pairs[0::2]]
    uncompressed = [0, *pairs[1::2]]
    for i in range(1, len(compressed)):
        if compressed[i] <= compressed[i - 1] or uncompressed[i] <= uncompressed[i - 1]:
            raise GenomeAccessError(f"{url}: the .gzi index is corrupt (offsets not increasing at block {i})")
    return compressed, uncompressed


def _inflate_blocks(data: bytes, url: str, at: int) -> list[bytes]:
    """Split a run of BGZF blocks into their decompressed texts; a block that inflates to more
    than a BGZF block may hold (64 KiB) is refused as it inflates, never held whole."""
    blocks = []
    rest = data
    while rest:
        inflater = zlib.decompressobj(31)
        try:
            blocks.append(inflater.decompress(rest, BGZF_BLOCK_TEXT + 1))
        except zlib.error as error:
            raise GenomeAccessError(f"{url}: corrupt bgzip block near byte {at} ({error})") from error
        if len(blocks[-1]) > BGZF_BLOCK_TEXT:
            raise GenomeAccessError(
                f"{url}: the gzip block at byte {at} inflates to more than {BGZF_BLOCK_TEXT} bytes, "
                "which no BGZF block holds (not a bgzip file, or a damaged one)"
            )
        if not inflater.eof:
            raise GenomeAccessError(f"{url}: truncated bgzip block near byte {at}")
        at += len(rest) - len(inflater.unused_data)
        rest = inflater.unused_data
    return blocks


class IndexedFasta:
    """A FASTA (bgzip-compressed or plain) read through its index with exact ranged reads."""

    def __init__(self, url: str, policy: UrlPolicy | None = None):
        self.url = url
        self.policy = policy or UrlPolicy.from_env()
        refuse_query(url)
        self.source: ByteSource = open_source(url, self.policy)
        self.sources: dict[str, ByteSource] = {"": self.source}
        self.identities: dict[str, Identity] = {}
        self.compressed = self._open_fasta()
        fai = self._index_file(".fai", MAX_FAI_BYTES)
        self.records = parse_fai(fai.decode("utf-8", errors="replace"), url + ".fai")
        self.block_offsets: list[int] = []
        self.text_offsets: list[int] = []
        if self.compressed:
            self.block_offsets, self.text_offsets = parse_gzi(self._index_file(".gzi", MAX_GZI_BYTES), url + ".gzi")
        self._cache: OrderedDict[int, bytes] = OrderedDict()
        self._lock = threading.Lock()
        self._verified: set[str] = set()
        self.checked_in_job = _job

    def _open_fasta(self) -> bool:
        """The FASTA's identity, and whether it is bgzip-compressed (its first bytes say)."""
        try:
            self.identities[""] = self.source.identity()
            start = self.source.read_range(0, 17, self.identities[""])
        except UrlNotAllowedError:
            raise
        except (GenomeAccessError, FileNotFoundError) as error:
            raise GenomeAccessError(f"{self.url}: the FASTA file cannot be read ({error})") from error
        if not start:
            raise GenomeAccessError(f"{self.url}: the FASTA file is empty")
        if start.startswith(BGZF_MAGIC) and start[12:14] == b"BC":
            return True
        if start.startswith(GZIP_MAGIC):
            raise GenomeAccessError(
                f"{self.url}: gzip-compressed but not with bgzip, so it cannot be read in ranges "
                "(compress it with 'bgzip' and index it with 'samtools faidx')"
            )
        return False

    def _index_file(self, suffix: str, limit: int) -> bytes:
        index_url = self.url + suffix
        source = open_source(index_url, self.policy)
        try:
            data, self.identities[suffix] = source.read_all(limit)
        except FileNotFoundError as error:
            what = "faidx (.fai)" if suffix == ".fai" else "bgzip (.gzi)"
            raise GenomeAccessError(
                f"{self.url}: its {what} index {index_url} is missing "
                f"(make it with 'samtools faidx' on the bgzip-compressed FASTA)"
            ) from error
        self.sources[suffix] = source
        return data

    def unchanged(self) -> bool:
        """Whether the FASTA and its index files are still the versions it was opened with."""
        try:
            return all(self.sources[suffix].identity() == identity for suffix, identity in self.identities.items())
        except (GenomeAccessError, FileNotFoundError, OSError):
            return False

    def record(self, seq_id: str) -> FaiRecord:
        try:
            return self.records[seq_id]
        except KeyError:
            names = list(self.records)
            sample = ", ".join(names[:5]) + (", ..." if len(names) > 5 else "")
            raise SequenceError(
                f"sequence {seq_id!r} is not in the FASTA {self.url} ({len(names)} sequences: {sample})"
            ) from None

    def fetch(self, seq_id: str, start: int, end: int) -> str:
        """Bases ``start..end`` (1-based, inclusive, plus strand) of ``seq_id``, upper-cased."""
        record = self.record(seq_id)
        if record.name not in self._verified:
            self._verify(record)
        if start < 1 or end < start:
            raise SequenceError(f"region {start}..{end} of {seq_id!r} is not a valid 1-based region")
        if end > record.length:
            raise SequenceError(
                f"region {start}..{end} is past the end of sequence {seq_id!r} (length {record.length})"
            )
        first, last = record.text_offset(start - 1), record.text_offset(end - 1)
        text = self._text(first, last)
        bases = text.replace(b"\n", b"").replace(b"\r", b"").upper()
        if len(bases) != end - start + 1:
            raise GenomeAccessError(
                f"{self.url}: {seq_id}:{start}..{end} read {len(bases)} bases instead of "
                f"{end - start + 1}; the FASTA does not match its .fai index"
            )
        if wrong := _NOT_A_BASE.search(bases):
            byte = bases[wrong.start()]
            shown = repr(chr(byte)) if 0x20 < byte < 0x7F else "a non-ASCII byte" if byte > 0x7F else "a control byte"
            raise SequenceError(
                f"{self.url}: {seq_id}:{start + wrong.start()} holds {shown} (0x{byte:02X}), which is not a "
                "nucleotide letter (IUPAC): the FASTA is damaged or not DNA"
            )
        return bases.decode("ascii")

    def _verify(self, record: FaiRecord) -> None:
        """Check, once per sequence, that the index matches the FASTA where it is read: the line
        before the sequence's offset is its header, and its first line ends where the index says.
        A stale index (offsets shifted, another version of the file) would otherwise give wrong
        bases, and a wrong protein, without any error."""
        stale = f"{self.url}: its .fai index does not match the FASTA (sequence {record.name!r}"
        advice = "; re-index it with 'samtools faidx'"
        if record.offset < len(record.name) + 2:
            raise GenomeAccessError(f"{stale} cannot start at byte {record.offset}){advice}")
        look_back = max(0, record.offset - HEADER_LOOK_BACK)
        first_line = min(record.length, record.line_bases)
        end = record.offset + first_line + (record.line_width - record.line_bases if record.length > first_line else 0)
        text = self._text(look_back, end - 1)
        header_end = record.offset - look_back
        before, line = text[:header_end], text[header_end:]
        start_of_line = before.rfind(b"\n", 0, len(before) - 1) + 1
        header = before[start_of_line:].rstrip(b"\r\n").split(maxsplit=1)
        header_seen = start_of_line > 0 or look_back == 0  # a header over 4 KiB long is not looked at
        named = header[:1] == [b">" + record.name.encode()]
        if not before.endswith(b"\n") or (header_seen and not named):
            shown = before[-40:].decode("ascii", "replace")
            raise GenomeAccessError(
                f"{stale} should follow its header line at byte {record.offset}; "
                f"the text before it is {shown!r}){advice}"
            )
        bases, terminator = line[:first_line], line[first_line:]
        if any(c in bases for c in b"\r\n>") or terminator.strip(b"\r\n"):
            raise GenomeAccessError(
                f"{stale}: its first line should hold {first_line} bases then a line end, "
                f"but reads {line.decode('ascii', 'replace')[: first_line + 4]!r}){advice}"
            )
        with self._lock:
            self._verified.add(record.name)

    def _text(self, first: int, last: int) -> bytes:
        """Uncompressed FASTA text from offset ``first`` to ``last`` inclusive."""
        if not self.compressed:
            data = self.source.read_range(first, last, self.identities[""])
            if len(data) != last - first + 1:
                raise GenomeAccessError(f"{self.url}: the file ends before byte {last} (truncated?)")
            return data
        i = bisect_right(self.text_offsets, first) - 1
        j = bisect_right(self.text_offsets, last) - 1
        blocks = self._blocks(i, j)
        joined = b"".join(blocks)
        begin = first - self.text_offsets[i]
        text = joined[begin : begin + last - first + 1]
        if len(text) != last - first + 1:
            raise GenomeAccessError(f"{self.url}: the bgzip file ends before text byte {last} (truncated?)")
        return text

    def _blocks(self, i: int, j: int) -> list[bytes]:
        with self._lock:
            cached = {k: self._cache[k] for k in range(i, j + 1) if k in self._cache}
            for k in cached:
                self._cache.move_to_end(k)
        missing = [k for k in range(i, j + 1) if k not in cached]
        # one ranged read per run of consecutive missing blocks
        runs: list[list[int]] = []
        for k in missing:
            if runs and runs[-1][-1] == k - 1:
                runs[-1].append(k)
            else:
                runs.append([k])
        for run in runs:
            begin = self.block_offsets[run[0]]
            after = run[-1] + 1
            stop = self.block_offsets[after] - 1 if after < len(self.block_offsets) else None
            data = self.source.read_range(begin, stop, self.identities[""])
            if not data:
                raise GenomeAccessError(f"{self.url}: the bgzip file ends before byte {begin} (truncated?)")
            inflated = _inflate_blocks(data, self.url, begin)
            if stop is not None and len(inflated) != len(run):
                raise GenomeAccessError(
                    f"{self.url}: bytes {begin}..{stop} hold {len(inflated)} bgzip blocks, the .gzi says {len(run)}"
                )
            for k, block in zip(run, inflated, strict=False):
                expected = self.text_offsets[k + 1] - self.text_offsets[k] if k + 1 < len(self.text_offsets) else None
                if expected is not None and len(block) != expected:
                    raise GenomeAccessError(
                        f"{self.url}: bgzip block {k} holds {len(block)} bytes, the .gzi says {expected}"
                    )
                cached[k] = block
        with self._lock:
            for k in missing:
                self._cache[k] = cached[k]
            while len(self._cache) > BLOCK_CACHE_SIZE:
                self._cache.popitem(last=False)
        return [cached[k] for k in range(i, j + 1)]


def refuse_query(url: str) -> None:
    """A URL's index files are found by adding ``.fai``/``.gzi`` to it: a query or fragment
    would be dropped from the file's path (``file:///dev/zero?`` reads ``/dev/zero``) or carried
    into the index's, so none is accepted."""
    if "://" in url and ("?" in url or "#" in url):
        raise GenomeAccessError(
            f"{url}: a URL with a query ('?') or fragment ('#') is not accepted: its index files are "
            "found at the URL followed by .fai and .gzi"
        )


_open_lock = threading.Lock()
_opened: dict[tuple[str, UrlPolicy | None], IndexedFasta] = {}
_opening: dict[tuple[str, UrlPolicy | None], threading.Lock] = {}
_job = 0  # which job of this process is retrieving (new_job): genomes are checked once per job


def new_job() -> None:
    """A new job starts in this process (a Lambda invocation, a Batch child, a CLI run): each
    genome it opens from the cache is first checked to be the same files (:meth:`IndexedFasta.unchanged`)."""
    global _job
    with _open_lock:
        _job += 1


def opened_identities(url: str, policy: UrlPolicy | None = None) -> dict[str, dict[str, object]] | None:
    """The identity of each file of the genome this process opened for ``url`` (the FASTA, its
    ``.fai`` and ``.gzi``: size and ETag or modification time), or None when it was not opened."""
    with _open_lock:
        fasta = _opened.get((url, policy))
    if fasta is None:
        return None
    return {
        suffix or "fasta": {"size": identity.size, "version": identity.version}
        for suffix, identity in fasta.identities.items()
    }


def open_fasta(url: str, policy: UrlPolicy | None = None) -> IndexedFasta:
    """The opened genome for ``url``; its index files are fetched once per process, and again
    when a job finds the files changed."""
    key = (url, policy)
    with _open_lock:
        lock = _opening.setdefault(key, threading.Lock())
    with lock:
        with _open_lock:
            fasta, job = _opened.get(key), _job
        if fasta is not None and (fasta.checked_in_job == job or fasta.unchanged()):
            fasta.checked_in_job = job
            return fasta
        fasta = IndexedFasta(url, policy)
        with _open_lock:
            _opened[key] = fasta
        return fasta


def forget_opened() -> None:
    """Drop every cached genome (tests; a long-lived process after index changes)."""
    with _open_lock:
        _opened.clear()
        _opening.clear()
