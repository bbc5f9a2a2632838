"""The map of Flanders and Brussels on which the reach report colours each municipality.

The shapes come from ``scheduler/data/municipality_shapes.geojson`` (see the README's data
sources). They are projected once per process into SVG path data; a map is then only a class per
municipality, so it is drawn on the server in milliseconds and works offline.
"""

import json
import math
from collections import Counter, defaultdict
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

# A planar projection that is good enough at the scale of Flanders: longitude shrunk by the
# cosine of the middle latitude, latitude upwards.
MIDDLE_LATITUDE = 50.8
WIDTH = 1000
MARGIN = 6
# Participants per municipality, upwards: each class from this many on.
CLASS_STARTS = (1, 3, 6, 11, 21)
CLASS_LABELS = ("1–2", "3–5", "6–10", "11–20", "21 of meer")
# A closed border shorter than this (in tenths of a map unit) is not outlined.
SMALLEST_OUTLINED_LOOP = 120


@dataclass(frozen=True)
class Shape:
    nis_code: str
    name: str
    province: str
    path: str


@dataclass(frozen=True)
class Outlines:
    """Every municipality's path, and the province borders as one path, in one viewBox."""

    shapes: tuple[Shape, ...]
    province_borders: str
    height: int


def reach_class(participants: int) -> int:
    """0 for not reached, else 1 to 5 along CLASS_STARTS."""
    return sum(1 for start in CLASS_STARTS if participants >= start)


@cache
def outlines() -> Outlines:
    collection = json.loads(
        files("scheduler").joinpath("data/municipality_shapes.geojson").read_text("utf-8"))
    shrink = math.cos(math.radians(MIDDLE_LATITUDE))
    features = collection["features"]

    def polygons(feature) -> list:
        geometry = feature["geometry"]
        return [geometry["coordinates"]] if geometry["type"] == "Polygon" else \
            geometry["coordinates"]

    points = [(lon * shrink, -lat) for feature in features for polygon in polygons(feature)
              for ring in polygon for lon, lat in ring]
    left, top = min(x for x, _ in points), min(y for _, y in points)
    right, bottom = max(x for x, _ in points), max(y for _, y in points)
    scale = (WIDTH - 2 * MARGIN) / (right - left)
    height = round((bottom - top) * scale + 2 * MARGIN)

    def project(lon: float, lat: float) -> tuple[int, int]:
        # Tenths of a unit, as integers: exact shared borders, compact relative steps.
        return (round((lon * shrink - left) * scale * 10 + MARGIN * 10),
                round((-lat - top) * scale * 10 + MARGIN * 10))

    shapes = []
    segments: dict[tuple, list[str]] = defaultdict(list)
    for feature in features:
        properties = feature["properties"]
        rings = []
        for polygon in polygons(feature):
            for ring in polygon:
                projected = _without_repeats([project(lon, lat) for lon, lat in ring])
                if len(projected) < 4:
                    continue
                rings.append(projected)
                for start, end in zip(projected, projected[1:], strict=False):
                    segments[min(start, end), max(start, end)].append(properties["province"])
        shapes.append(Shape(properties["nis"], properties["name"], properties["province"],
                            "".join(_ring_path(ring) for ring in rings)))
    return Outlines(tuple(shapes), _province_borders(segments), height)


def _without_repeats(points: list[tuple[int, int]]) -> list[tuple[int, int]]:
    kept = [points[0]]
    for point in points[1:]:
        if point != kept[-1]:
            kept.append(point)
    return kept


def _number(tenths: int) -> str:
    """Tenths as the shortest decimal SVG reads: 12, 1.5, .5, -.5."""
    text = f"{tenths / 10:g}"
    return text.replace("0.", ".", 1) if text.startswith(("0.", "-0.")) else text


def _step(dx: int, dy: int) -> str:
    second = _number(dy)
    return _number(dx) + ("" if second.startswith("-") else " ") + second


def _ring_path(ring: list[tuple[int, int]]) -> str:
    (x, y), rest = ring[0], ring[1:-1]
    steps = []
    for next_x, next_y in rest:
        steps.append(_step(next_x - x, next_y - y))
        x, y = next_x, next_y
    return f"M{_step(*ring[0])}l" + " ".join(steps) + "z"


def _length(line: list[tuple[int, int]]) -> float:
    return sum(math.dist(start, end) for start, end in zip(line, line[1:], strict=False))


def _province_borders(segments: dict[tuple, list[str]]) -> str:
    """Where a municipality meets another province, or nothing (the region's edge)."""
    border = [pair for pair, provinces in segments.items()
              if len(provinces) == 1 or len(set(provinces)) > 1]
    # Chain the segments into lines, so the path holds each point about once.
    following: dict[tuple[int, int], list[tuple[int, int]]] = defaultdict(list)
    for start, end in border:
        following[start].append(end)
        following[end].append(start)
    uses = Counter({pair: 1 for pair in border})
    lines = []
    for start, end in border:
        if not uses[start, end]:
            continue
        uses[start, end] -= 1
        line = [start, end]
        while True:
            tip = line[-1]
            nexts = [point for point in following[tip]
                     if uses[min(tip, point), max(tip, point)]]
            if not nexts:
                break
            uses[min(tip, nexts[0]), max(tip, nexts[0])] -= 1
            line.append(nexts[0])
        lines.append(line)
    parts = []
    for line in lines:
        if line[0] == line[-1] and _length(line) < SMALLEST_OUTLINED_LOOP:
            # Baarle-Hertog's enclaves: a border drawn around them would hide their colour.
            continue
        (x, y), steps = line[0], []
        for next_x, next_y in line[1:]:
            steps.append(_step(next_x - x, next_y - y))
            x, y = next_x, next_y
        parts.append(f"M{_step(*line[0])}l" + " ".join(steps))
    return "".join(parts)
