"""QuickBooks' answer as a job keeps it (raw jobs): gzip in `jobs.response_gz`.

qbXML compresses tenfold or more, and a raw answer can be as large as the body limit (a query
of every customer). As text, psycopg2 quoted the whole of it into the statement (the string, its
UTF-8 bytes, the escaped copy, the statement: four copies in the worker, one more in
PostgreSQL's TOAST compression); compressed, what travels is a few percent of it. The text is
compressed slice by slice, so it is never encoded whole either. Answers stored before migration
0009 stay as text in `response_xml`; readers take either (`response_text`).
"""

from __future__ import annotations

import zlib

#: Fast over small. On qbXML, level 3 is as fast as 1 and 10 % smaller; 6 takes two to three
#: times as long for a fifth fewer bytes (bench/README.md, edge_memory section).
LEVEL = 3
#: Characters encoded and compressed at a time: the most of the answer copied at once.
SLICE = 1 << 20
#: gzip framing (a header and a CRC), so a `psql \copy` of the column can be read with gunzip.
_GZIP = 16 + zlib.MAX_WBITS


def compress(text: str) -> bytes:
    """`text` as UTF-8, gzipped; never holds more than SLICE characters of it encoded."""
    packer = zlib.compressobj(LEVEL, zlib.DEFLATED, _GZIP)
    parts = [
        packer.compress(text[start : start + SLICE].encode("utf-8")) for start in range(0, len(text), SLICE)
    ]
    parts.append(packer.flush())
    return b"".join(parts)


def decompress(stored: bytes | memoryview) -> str:
    """The text `compress` was given (psycopg2 reads a bytea as a memoryview)."""
    return zlib.decompress(stored, _GZIP).decode("utf-8")


def response_text(response_gz: bytes | memoryview | None, response_xml: str | None) -> str | None:
    """A job's stored answer, whichever way it was stored: compressed (since 0009) or as text."""
    return decompress(response_gz) if response_gz is not None else response_xml
