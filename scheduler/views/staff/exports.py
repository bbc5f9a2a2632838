"""Downloads that open correctly in Excel in Belgium: UTF-8 with BOM, ';' between columns."""

import csv
import io
from collections.abc import Iterable

from flask import Response, make_response


def csv_download(header: list[str], rows: Iterable[list], filename: str) -> Response:
    """A CSV attachment; cells that Excel would run as a formula are defused."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([_cell(value) for value in row] for row in rows)
    response = make_response("\ufeff" + buffer.getvalue())
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _cell(value):
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value
