"""CSV is written a chunk of rows at a time (issue 18: 1,000,000 pupils within 4 GiB): the
file is the one a single write makes, whatever the chunk size."""

from __future__ import annotations

import datetime as dt

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import targetkit.io as tio


def test_a_small_frame_is_written_as_worked_out_by_hand(tmp_path, monkeypatch):
    monkeypatch.setattr(tio, "CSV_CHUNK_ROWS", 2)  # three rows: two chunks
    frame = pd.DataFrame(
        {
            "=name": ["=1+1", "Zoë", None],
            "target": [4, 5, 6],
            "dob": [dt.date(2015, 9, 1), None, dt.date(2016, 1, 2)],
        }
    )
    tio.write_csv(frame, tmp_path / "t.csv")
    expected = "\ufeff'=name,target,dob\r\n'=1+1,4,2015-09-01\r\nZoë,5,\r\n,6,2016-01-02\r\n"
    assert (tmp_path / "t.csv").read_bytes() == expected.encode("utf-8")


def test_an_empty_frame_is_its_header(tmp_path):
    tio.write_csv(pd.DataFrame({"upn": [], "name": []}), tmp_path / "e.csv")
    assert (tmp_path / "e.csv").read_bytes() == "\ufeffupn,name\r\n".encode()


_values = st.one_of(
    st.none(),
    st.text(max_size=8),
    st.sampled_from(["=SUM(A1)", "+1", "-2", "@x", 'a "quote"', "line\nbreak", "comma,"]),
    st.integers(-1000, 1000),
    st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2030, 1, 1)),
)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.lists(_values, min_size=3, max_size=3), max_size=12), st.integers(1, 5))
def test_the_file_does_not_depend_on_the_chunk_size(tmp_path_factory, monkeypatch, rows, size):
    frame = pd.DataFrame(rows, columns=["a", "b", "c"], dtype=object)
    folder = tmp_path_factory.mktemp("csv")
    monkeypatch.setattr(tio, "CSV_CHUNK_ROWS", 10**6)
    tio.write_csv(frame, folder / "whole.csv")
    monkeypatch.setattr(tio, "CSV_CHUNK_ROWS", size)
    tio.write_csv(frame, folder / "chunks.csv")
    assert (folder / "chunks.csv").read_bytes() == (folder / "whole.csv").read_bytes()
