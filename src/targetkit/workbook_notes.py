"""Cell notes (Excel's comments) written as they come, not collected for the end.

xlsxwriter keeps every comment as a Python object until the workbook closes, then writes
`comments1.xml` and `vmlDrawing1.vml` through its general XML writer: about 40 µs a note,
a third of a 100,000-pupil workbook's time, and every note held in memory. Here each note's
XML goes to a spool file as its row is written; only its cell (two integers) is kept, and the
VML shapes, one fixed shape a note placed from its cell, are written when the workbook
closes, once row heights and column widths are final. The parts are byte for byte the ones
xlsxwriter writes (tests/test_workbook_notes.py). Imported only when a workbook is written.
"""

from __future__ import annotations

import functools
import os
import re
import tempfile
from array import array
from pathlib import Path

from xlsxwriter.comments import Comments, CommentType
from xlsxwriter.packager import Packager
from xlsxwriter.utility import _preserve_whitespace, xl_col_to_name
from xlsxwriter.vml import Vml
from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet
from xlsxwriter.xmlwriter import XMLwriter

_COMMENTS_HEAD = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<comments xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    "<authors><author></author></authors><commentList>"
)
_COMMENTS_TAIL = "</commentList></comments>"
_VML_HEAD = (
    '<xml xmlns:v="urn:schemas-microsoft-com:vml" xmlns:o="urn:schemas-microsoft-com:office:office"'
    ' xmlns:x="urn:schemas-microsoft-com:office:excel"><o:shapelayout v:ext="edit">'
    '<o:idmap v:ext="edit" data="{data_id}"/></o:shapelayout><v:shapetype id="_x0000_t202"'
    ' coordsize="21600,21600" o:spt="202" path="m,l,21600r21600,l21600,xe">'
    '<v:stroke joinstyle="miter"/><v:path gradientshapeok="t" o:connecttype="rect"/>'
    "</v:shapetype>"
)
_VML_BODY = (  # what every note's shape holds between its place and its anchor
    ' o:insetmode="auto"><v:fill color2="#ffffe1"/><v:shadow on="t" color="black"'
    ' obscured="t"/><v:path o:connecttype="none"/><v:textbox style="mso-direction-alt:auto">'
    '<div style="text-align:left"></div></v:textbox><x:ClientData ObjectType="Note">'
    "<x:MoveWithCells/><x:SizeWithCells/>"
)
_escape_control = XMLwriter._escape_control_characters
_ESCAPED = re.compile("[\x00-\x08\x0b-\x1f\ufffe\uffff]")  # what _escape_control changes, with "_x"
_LAST_COLUMNS = 16384 - 3  # xlsxwriter places a note on the last 3 columns or
_LAST_ROWS = 1048576 - 3  # rows (or the first row) differently: those go through CommentType


class StreamedNotes:
    """One sheet's notes: their comments XML spooled to a file, their cells in two arrays."""

    def __init__(self, folder: str | Path | None, options: dict[str, float]) -> None:
        self.options = options
        shape = CommentType(1, 1, "", options)  # the size, colour and font every note has
        self.width, self.height = shape.width, shape.height
        self.fill = shape.color._vml_rgb_hex_value()
        self.run = (
            f'<rPr><sz val="{shape.font_size}"/><color indexed="81"/>'
            f'<rFont val="{shape.font_name}"/><family val="{shape.font_family}"/></rPr>'
        )
        handle, self.path = tempfile.mkstemp(dir=folder)
        self.file = os.fdopen(handle, "w", encoding="utf-8")
        self.file.write(_COMMENTS_HEAD)
        self.rows, self.columns = array("q"), array("q")
        self.letters: dict[int, str] = {}

    def add(self, row: int, column: int, text: str) -> None:
        """A note on a cell; cells must come in row order, and in column order within a row.
        Its text escaped as xlsxwriter escapes it: XML's specials, then Excel's `_xHHHH_`."""
        space = ' xml:space="preserve"' if _preserve_whitespace(text) else ""
        if "&" in text or "<" in text or ">" in text:
            text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        if "_x" in text or _ESCAPED.search(text):
            text = _escape_control(text)
        letter = self.letters.get(column)
        if letter is None:
            letter = self.letters[column] = xl_col_to_name(column)
        self.file.write(
            f'<comment ref="{letter}{row + 1}" authorId="0"><text><r>{self.run}'
            f"<t{space}>{text}</t></r></text></comment>"
        )
        self.rows.append(row)
        self.columns.append(column)

    def __len__(self) -> int:
        return len(self.rows)

    def finish_comments(self) -> str:
        """The finished comments XML file (the caller packages and removes it)."""
        self.file.write(_COMMENTS_TAIL)
        self.file.close()
        return self.path

    def write_vml(self, path: str, sheet: Worksheet, data_id: str, shape_id: int) -> None:
        """The VML shapes, placed as xlsxwriter places them with the sheet's final sizes."""
        width, height = self.width, self.height
        size = f"width:{width * 0.75:.15g}pt;height:{height * 0.75:.15g}pt"
        across: dict[tuple[int, int], tuple[int, int, int, int, int]] = {}
        down: tuple[int, tuple[int, int, int, int, int]] = (-1, (0, 0, 0, 0, 0))
        with open(path, "w", encoding="utf-8") as out:
            out.write(_VML_HEAD.format(data_id=data_id))
            shapes: list[str] = []
            for z, (row, column) in enumerate(zip(self.rows, self.columns, strict=True), 1):
                if row == 0 or row >= _LAST_ROWS or column >= _LAST_COLUMNS:
                    edge = CommentType(row, column, "", self.options)
                    start_col, start_row = edge.start_col, edge.start_row
                    x1, y1 = edge.x_offset, edge.y_offset
                else:
                    start_col, start_row, x1, y1 = column + 1, row - 1, 15, 10
                x = across.get((start_col, x1))
                if x is None:  # a column's notes all sit alike: worked out once
                    v = sheet._position_object_pixels(start_col, 0, x1, 0, width, 1, 0)
                    x = across[(start_col, x1)] = (v[0], v[2], v[4], v[6], v[8])
                if down[0] != row:  # a row's notes share their place down the sheet
                    down = (row, _place_down(sheet, start_row, y1, height))
                y = down[1]
                shapes.append(
                    f'<v:shape id="_x0000_s{shape_id + z}" type="#_x0000_t202" style="'
                    f"position:absolute;margin-left:{x[4] * 0.75:.15g}pt;"
                    f"margin-top:{y[4] * 0.75:.15g}pt;{size};z-index:{z};visibility:hidden"
                    f'" fillcolor="{self.fill}"{_VML_BODY}<x:Anchor>{x[0]}, {x[1]}, {y[0]}, '
                    f"{y[1]}, {x[2]}, {x[3]}, {y[2]}, {y[3]}</x:Anchor><x:AutoFill>False"
                    f"</x:AutoFill><x:Row>{row}</x:Row><x:Column>{column}</x:Column>"
                    "</x:ClientData></v:shape>"
                )
                if len(shapes) == 5000:
                    out.write("".join(shapes))
                    shapes.clear()
            out.write("".join(shapes))
            out.write("</xml>")


def _place_down(
    sheet: Worksheet, row_start: int, y1: int, height: int
) -> tuple[int, int, int, int, int]:
    """A note's first and last rows, offsets within them, and its top in pixels: the rows'
    half of xlsxwriter's `_position_object_pixels` (which also sums the columns, each time)."""
    size = sheet._size_row
    if sheet.row_sizes:
        y_abs = sheet._row_offset(row_start) + y1
    else:
        y_abs = sheet.default_row_height * row_start + y1
    while y1 >= size(row_start):
        y1 -= size(row_start)
        row_start += 1
    row_end = row_start
    if size(row_start) > 0:
        height += y1
    while height >= size(row_end):
        height -= size(row_end)
        row_end += 1
    return row_start, y1, row_end, height, y_abs


class NotesWorksheet(Worksheet):
    """A worksheet whose notes may be streamed (`stream_notes`) instead of `write_comment`."""

    def __init__(self) -> None:
        super().__init__()
        self.notes: StreamedNotes | None = None

    def add_note(self, row: int, column: int, text: str, options: dict[str, float]) -> None:
        """`write_comment`'s note, its XML spooled beside the sheet's rows (in the private
        folder xlsxwriter spools to); `options` are the same for every note of the sheet."""
        if self._check_dimensions(row, column):  # where write_comment would drop it silently
            raise ValueError(f"a note at row {row + 1}, column {column + 1} cannot be written")
        if self.notes is None:
            self.notes = StreamedNotes(self.tmpdir, options)
            self.has_vml = self.has_comments = True
        self.notes.add(row, column, text)

    def _prepare_vml_objects(self, vml_data_id, vml_shape_id, vml_drawing_id, comment_id):  # type: ignore[no-untyped-def]
        """As xlsxwriter's, counting the streamed notes instead of comment objects."""
        if self.notes is None or not len(self.notes):
            return super()._prepare_vml_objects(
                vml_data_id, vml_shape_id, vml_drawing_id, comment_id
            )
        if self.comments or self.buttons_list or self.comments_author or self.comments_visible:
            # the streamed parts have no author and hidden notes, and nothing else on the sheet
            raise ValueError("a sheet takes streamed notes or xlsxwriter comments, not both")
        self.external_vml_links.append(
            ["/vmlDrawing", f"../drawings/vmlDrawing{vml_drawing_id}.vml"]
        )
        self.external_comment_links.append(["/comments", f"../comments{comment_id}.xml"])
        count = len(self.notes)
        data_id = str(vml_data_id)
        for i in range(count // 1024):  # one 1024 block of shape ids each: data="1,2"
            data_id += f",{vml_data_id + i + 1}"
        self.vml_data_id, self.vml_shape_id = data_id, vml_shape_id
        return count


class NotesPackager(Packager):
    """xlsxwriter's packager, taking a sheet's streamed notes as its VML and comments parts."""

    def _write_vml_files(self) -> None:
        index = 1
        for sheet in self.workbook.worksheets():
            if not sheet.has_vml and not sheet.has_header_vml:
                continue
            if sheet.has_vml:
                path = self._filename(f"xl/drawings/vmlDrawing{index}.vml")
                notes = getattr(sheet, "notes", None)
                if notes is not None and len(notes):
                    notes.write_vml(path, sheet, sheet.vml_data_id, sheet.vml_shape_id)
                else:
                    vml = Vml()
                    vml._set_xml_writer(path)
                    vml._assemble_xml_file(
                        sheet.vml_data_id,
                        sheet.vml_shape_id,
                        sheet.comments_list,
                        sheet.buttons_list,
                    )
                index += 1
            if sheet.has_header_vml:  # targetkit writes no header images
                raise ValueError("header images are not written by targetkit")

    def _write_comment_files(self) -> None:
        index = 1
        for sheet in self.workbook.worksheets():
            if not sheet.has_comments:
                continue
            name = f"xl/comments{index}.xml"
            notes = getattr(sheet, "notes", None)
            if notes is not None and len(notes):
                self.filenames.append((notes.finish_comments(), name, False))
            else:
                comments = Comments()
                comments._set_xml_writer(self._filename(name))
                comments._assemble_xml_file(sheet.comments_list)
            index += 1


# zlib level of the parts zipped into the .xlsx: 1 compresses 3.6x faster than zipfile's
# default (6) for files a quarter larger (docs/performance.md, "Compression").
ZIP_LEVEL = 1


class NotesWorkbook(Workbook):
    """xlsxwriter's workbook with sheets that can stream their notes, zipped at `ZIP_LEVEL`."""

    worksheet_class = NotesWorksheet

    def _get_packager(self) -> Packager:
        return NotesPackager()

    def _store_workbook(self) -> None:
        """xlsxwriter's, its ZipFile given a compression level (xlsxwriter sets none)."""
        import xlsxwriter.workbook as module

        zip_file = module.ZipFile
        module.ZipFile = functools.partial(zip_file, compresslevel=ZIP_LEVEL)
        try:
            super()._store_workbook()
        finally:
            module.ZipFile = zip_file
