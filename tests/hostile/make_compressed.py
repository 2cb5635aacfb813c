#!/usr/bin/env python3
"""Writes the compressed hostile files into a directory, for the hostile test (README.md) to load.

    python3 tests/hostile/make_compressed.py DIR [--bomb-gib 10]

Each file is written streaming (never its decompressed content in memory) in a few seconds in all. What
loading each must yield (status in load_history; words the error must contain; rows loaded and rejected):

- truncated.csv.gz: a valid customer CSV (2,000 rows), gzip, cut in the middle.
  Failed: "truncated", "cut short"; 0 loaded, 0 rejected (the rows before the cut are not loaded either:
  the file is rejected whole).
- bomb.csv.gz: ~12 MB of gzip that inflates to ~10 GiB of one repeated row (about 900:1).
  Failed: "decompression bomb", "max_inflate_ratio"; 0 loaded, 0 rejected; refused after the 64 MiB free
  allowance, having read well under 1 MB of it; memory bounded.
- bomb.csv.zst: ~1 MB of zstd frames inflating to ~10 GiB of the same row.
  Failed: "decompression bomb", "max_inflate_ratio"; 0 loaded, 0 rejected.
- bad_checksum.csv.zst: a customer CSV compressed with `zstd --check`, one payload byte flipped.
  Failed: "checksum", "corrupt"; 0 loaded, 0 rejected.

The bombs are genuine files (gzip(1) and zstd(1) decompress them, to 10 GiB): refused for their ratio, not
for a format error. Their rows all carry customer_id 900000000, which no other file of the corpus uses.
"""

import argparse
import gzip
import os
import struct
import subprocess
import sys
import zlib

HEADER = b"customer_id,first_name,last_name,email,street,city,state,country,updated_at,op\n"
# The street is a long run of one letter: deflate codes a run at distance 1 with no extra bits, so the gzip
# bomb reaches about 900:1 (a short row repeats at its own length, whose distance code alone caps deflate
# near 300:1, too close to the default max_inflate_ratio of 250 to show the guard).
BOMB_ROW = (b"900000000,Bo,Mb,bomb@example.com," + b"x" * 16000 +
            b",Deflate,,Nowhere,2024-01-01T00:00:00Z,upsert\n")
MiB = 1 << 20
GiB = 1 << 30


def customer_csv(rows, first_id):
    """A valid customer CSV with `rows` rows, keys from first_id on."""
    out = [HEADER]
    for i in range(rows):
        k = first_id + i
        out.append(b"%d,First%d,Last%d,c%d@example.com,%d Hostile Rd,Gzipton,CA,USA,2024-03-01T12:00:00Z,upsert\n"
                   % (k, k, k % 97, k, k % 1000))
    return b"".join(out)


def _row_block(size):
    """Whole copies of BOMB_ROW, about `size` bytes."""
    return BOMB_ROW * (size // len(BOMB_ROW))


def truncated_csv_gz(path):
    packed = gzip.compress(customer_csv(2000, 910000000), mtime=0)
    with open(path, "wb") as f:
        f.write(packed[: len(packed) // 2])


def bomb_csv_gz(path, total=10 * GiB):
    """One gzip member of HEADER and then BOMB_ROW until `total` bytes.

    Deflating 10 GiB would take minutes. A full flush makes each later block of rows compress on its own, to
    the same bytes every time, so one compressed block is written as many times as needed; the trailer's
    CRC-32 is computed over the repeated block (about 3 s), so the member is valid to the end."""
    block = _row_block(16 * MiB)
    c = zlib.compressobj(9, zlib.DEFLATED, -15, 9)  # raw deflate: the gzip header and trailer are written here
    first = c.compress(HEADER + block) + c.flush(zlib.Z_FULL_FLUSH)
    again = c.compress(block) + c.flush(zlib.Z_FULL_FLUSH)
    assert c.compress(block) + c.flush(zlib.Z_FULL_FLUSH) == again, "deflate after a full flush is not repeatable"
    repeats = max(0, (total - len(HEADER) - len(block)) // len(block))
    crc = zlib.crc32(HEADER + block)
    size = len(HEADER) + len(block) * (1 + repeats)
    with open(path, "wb") as f:
        f.write(b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff")  # magic, deflate, no flags, mtime 0, best, unknown OS
        f.write(first)
        for _ in range(repeats):
            f.write(again)
            crc = zlib.crc32(block, crc)
        f.write(c.flush(zlib.Z_FINISH))  # the final, empty block
        f.write(struct.pack("<II", crc & 0xFFFFFFFF, size & 0xFFFFFFFF))


def _zstd(data, *args):
    return subprocess.run(["zstd", "-q", "-c", *args], input=data, stdout=subprocess.PIPE, check=True).stdout


def bomb_csv_zst(path, total=10 * GiB):
    """zstd frames, one after another (a valid zstd stream): HEADER and 16 MiB of rows, then the frame of 16 MiB
    of rows repeated until `total` bytes. Compressing 16 MiB twice takes well under a second."""
    block = _row_block(16 * MiB)
    first = _zstd(HEADER + block, "-3", "--check")
    again = _zstd(block, "-3", "--check")
    repeats = max(0, (total - len(HEADER) - len(block)) // len(block))
    with open(path, "wb") as f:
        f.write(first)
        for _ in range(repeats):
            f.write(again)


def bad_checksum_csv_zst(path):
    """A customer CSV compressed with a content checksum, one byte flipped where zstd itself reports the
    checksum (not corrupt block data): literals are stored uncompressed, so a flipped literal decodes to wrong
    data that only the checksum catches. The byte is chosen by asking `zstd -t` about candidates."""
    packed = bytearray(_zstd(customer_csv(200, 920000000), "-3", "--check", "--no-compress-literals"))
    middle = len(packed) // 2
    for delta in range(0, len(packed) // 2 - 8):
        for at in (middle + delta, middle - delta):
            bad = bytearray(packed)
            bad[at] ^= 0x20
            r = subprocess.run(["zstd", "-t", "-q", "-"], input=bytes(bad), stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
            if r.returncode != 0 and b"checksum" in r.stderr.lower():
                with open(path, "wb") as f:
                    f.write(bad)
                return
    sys.exit("make_compressed: found no byte whose flip only the zstd checksum catches")


GENERATORS = {
    "truncated.csv.gz": truncated_csv_gz,
    "bomb.csv.gz": bomb_csv_gz,
    "bomb.csv.zst": bomb_csv_zst,
    "bad_checksum.csv.zst": bad_checksum_csv_zst,
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("directory", help="where to write the files (created if missing)")
    parser.add_argument("--bomb-gib", type=float, default=10, help="decompressed size of the bombs (default 10)")
    args = parser.parse_args()
    os.makedirs(args.directory, exist_ok=True)
    for name, make in GENERATORS.items():
        path = os.path.join(args.directory, name)
        if make in (bomb_csv_gz, bomb_csv_zst):
            make(path, int(args.bomb_gib * GiB))
        else:
            make(path)
        print(f"{path}: {os.path.getsize(path):,} bytes")


if __name__ == "__main__":
    main()
