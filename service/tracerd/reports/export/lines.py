"""Line formats: JSON Lines (the API's event shape, one per line) and CSV (promoted
columns, then `fields` as JSON text). Stored `fields` JSON is spliced in, never re-parsed."""

from __future__ import annotations

import csv
import io

import orjson

from .rows import Row

CSV_COLUMNS = (
    "seq",
    "ts_ns",
    "cpu",
    "pid",
    "tid",
    "comm",
    "name",
    "dur_ns",
    "ret",
    "errno",
    "fields",
)


class JsonLines:
    media_type = "application/x-ndjson"
    suffix = "jsonl"

    def header(self) -> bytes:
        return b""

    def encode(self, rows: list[Row]) -> bytes:
        out = bytearray()
        for r in rows:
            head = orjson.dumps(
                {
                    "seq": r.seq,
                    "ts_ns": r.ts_ns,
                    "cpu": r.cpu,
                    "pid": r.pid,
                    "tid": r.tid,
                    "comm": r.comm,
                    "name": r.name,
                }
            )
            out += head[:-1]
            out += b',"fields":'
            out += r.fields.encode()
            out += b"}\n"
        return bytes(out)

    def footer(self) -> bytes:
        return b""


class Csv:
    media_type = "text/csv"
    suffix = "csv"

    def header(self) -> bytes:
        return (",".join(CSV_COLUMNS) + "\r\n").encode()

    def encode(self, rows: list[Row]) -> bytes:
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerows(
            (
                r.seq,
                r.ts_ns,
                r.cpu,
                r.pid,
                r.tid,
                r.comm,
                r.name,
                r.dur_ns,
                r.ret,
                r.errno,
                r.fields,
            )
            for r in rows
        )
        return buf.getvalue().encode()

    def footer(self) -> bytes:
        return b""
