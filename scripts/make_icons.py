"""Draw the Teams app icons (deploy/teams/color.png and outline.png).

The Teams app manifest schema (v1.30) describes the icons as a 192x192
full-colour PNG and a 32x32 PNG outline in white on a transparent background. Both show the same symbol, a speech bubble with a
check mark. The script uses only the standard library: shapes are sampled 4x4
times per pixel for smooth edges, and the PNG files are written with zlib and
struct. The output is deterministic, so rerunning it leaves the committed files
unchanged unless the drawing code changes.

Usage: python scripts/make_icons.py [--output-dir DIR]
"""

from __future__ import annotations

import argparse
import struct
import zlib
from collections.abc import Callable
from pathlib import Path

# Background of the colour icon. deploy/teams/manifest.json uses the same value
# as accentColor.
ACCENT_RGB = (0x2B, 0x58, 0xD6)
WHITE_RGB = (0xFF, 0xFF, 0xFF)

COLOR_SIZE = 192
OUTLINE_SIZE = 32
SAMPLES_PER_AXIS = 4

DEFAULT_OUTPUT_DIR = Path(__file__).resolve().parent.parent / "deploy" / "teams"

Shape = Callable[[float, float], bool]


def _inside_rounded_rect(x: float, y: float, left: float, top: float,
                         right: float, bottom: float, radius: float) -> bool:
    if not (left <= x <= right and top <= y <= bottom):
        return False
    dx = max(left + radius - x, 0.0, x - (right - radius))
    dy = max(top + radius - y, 0.0, y - (bottom - radius))
    return dx * dx + dy * dy <= radius * radius


def _inside_triangle(x: float, y: float,
                     a: tuple[float, float], b: tuple[float, float],
                     c: tuple[float, float]) -> bool:
    def cross(p: tuple[float, float], q: tuple[float, float]) -> float:
        return (q[0] - p[0]) * (y - p[1]) - (q[1] - p[1]) * (x - p[0])

    d1, d2, d3 = cross(a, b), cross(b, c), cross(c, a)
    has_negative = d1 < 0 or d2 < 0 or d3 < 0
    has_positive = d1 > 0 or d2 > 0 or d3 > 0
    return not (has_negative and has_positive)


def _distance_to_segment(x: float, y: float,
                         a: tuple[float, float], b: tuple[float, float]) -> float:
    ax, ay = a
    bx, by = b
    length_squared = (bx - ax) ** 2 + (by - ay) ** 2
    t = ((x - ax) * (bx - ax) + (y - ay) * (by - ay)) / length_squared
    t = min(1.0, max(0.0, t))
    px, py = ax + t * (bx - ax), ay + t * (by - ay)
    return ((x - px) ** 2 + (y - py) ** 2) ** 0.5


def make_symbol(scale: float) -> Shape:
    """Return a predicate for the symbol in unit coordinates (0..1, y down).

    The symbol is drawn for a 0.6-wide box centred in the square and then
    stretched by `scale` around the centre, so scale 1.0 leaves a 20 % margin.
    """

    def symbol(x: float, y: float) -> bool:
        # Map the pixel back into the unscaled drawing.
        x = 0.5 + (x - 0.5) / scale
        y = 0.5 + (y - 0.5) / scale

        in_body = _inside_rounded_rect(x, y, 0.20, 0.22, 0.80, 0.66, 0.12)
        in_tail = _inside_triangle(x, y, (0.30, 0.62), (0.46, 0.62), (0.27, 0.80))
        if not (in_body or in_tail):
            return False

        # The check mark is cut out of the bubble.
        half_width = 0.045
        in_check = (
            _distance_to_segment(x, y, (0.36, 0.45), (0.46, 0.55)) <= half_width
            or _distance_to_segment(x, y, (0.46, 0.55), (0.65, 0.34)) <= half_width
        )
        return not in_check

    return symbol


def coverage_map(shape: Shape, size: int) -> list[list[float]]:
    """Return, for each pixel, the fraction of its area inside `shape` (0.0 to 1.0)."""
    step = 1.0 / SAMPLES_PER_AXIS
    total = SAMPLES_PER_AXIS * SAMPLES_PER_AXIS
    rows = []
    for row in range(size):
        values = []
        for column in range(size):
            hits = 0
            for sy in range(SAMPLES_PER_AXIS):
                y = (row + (sy + 0.5) * step) / size
                for sx in range(SAMPLES_PER_AXIS):
                    x = (column + (sx + 0.5) * step) / size
                    hits += shape(x, y)
            values.append(hits / total)
        rows.append(values)
    return rows


def encode_png(width: int, height: int, color_type: int, rows: list[bytes]) -> bytes:
    """Encode 8-bit pixel rows as a PNG (color_type 2 is RGB, 6 is RGBA)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        checksum = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", checksum)

    # IHDR: width, height, bit depth 8, colour type, compression 0, filter 0, no interlace.
    header = struct.pack(">IIBBBBB", width, height, 8, color_type, 0, 0, 0)

    # Every scanline starts with filter type 0 (None).
    raw = b"".join(b"\x00" + row for row in rows)

    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


def color_icon() -> bytes:
    """Return the 192x192 RGB icon: a white symbol on the accent colour."""
    coverage = coverage_map(make_symbol(scale=1.0), COLOR_SIZE)
    rows = []
    for values in coverage:
        row = bytearray()
        for c in values:
            for accent, white in zip(ACCENT_RGB, WHITE_RGB):
                row.append(round(accent + (white - accent) * c))
        rows.append(bytes(row))
    return encode_png(COLOR_SIZE, COLOR_SIZE, 2, rows)


def outline_icon() -> bytes:
    """Return the 32x32 RGBA icon: the symbol in white, everything else transparent."""
    coverage = coverage_map(make_symbol(scale=1.4), OUTLINE_SIZE)
    rows = []
    for values in coverage:
        row = bytearray()
        for c in values:
            row.extend(WHITE_RGB)
            row.append(round(255 * c))
        rows.append(bytes(row))
    return encode_png(OUTLINE_SIZE, OUTLINE_SIZE, 6, rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--output-dir", type=Path, default=DEFAULT_OUTPUT_DIR,
        help=f"directory for color.png and outline.png (default: {DEFAULT_OUTPUT_DIR})",
    )
    args = parser.parse_args()

    args.output_dir.mkdir(parents=True, exist_ok=True)
    for name, data in (("color.png", color_icon()), ("outline.png", outline_icon())):
        path = args.output_dir / name
        path.write_bytes(data)
        print(f"wrote {path} ({len(data)} bytes)")


if __name__ == "__main__":
    main()
