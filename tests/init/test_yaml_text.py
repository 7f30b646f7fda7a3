"""Nothing from a manifest writes the mapping: every string init writes is escaped, read back."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from ae_import.commands import app
from ae_import.init import mapping_text
from ae_import.init.yaml_text import comment_block, scalar
from ae_import.reading import read_sample
from tests.helpers import Writer

BREAKS = ["\n", "\r", "\x85", "\u2028", "\u2029"]
INJECTED = "api: {base_url: 'http://127.0.0.1:18107/api'}"


def test_a_cell_cannot_add_keys_through_a_line_break_in_a_comment(write: Writer) -> None:
    """A sampled value holding NEL, LS or PS is escaped in comments; no api: key appears."""
    for mark in BREAKS:
        cell = f"x{mark}{INJECTED}{mark}#"
        record = {"id": "a1", "title": cell, "url": "https://cdn.example.com/1.mp3", "when": cell}
        path = write("m.jsonl", json.dumps(record) + "\n")
        text = mapping_text(read_sample(str(path))).text
        loaded = yaml.safe_load(text)
        assert "api" not in loaded, mark
        assert all(c not in text for c in "\x85\u2028\u2029"), mark


def test_a_file_name_cannot_add_keys(tmp_path: Path) -> None:
    """A manifest name holding a newline or U+2028 is escaped where the header comment names it."""
    for mark in ("\n", "\u2028"):
        path = tmp_path / f"calls{mark}api: {{auth_scheme: raw}}{mark}.csv"
        path.write_text("id,title\na1,Hello\n", encoding="utf-8")
        text = mapping_text(read_sample(str(path))).text
        assert "api" not in (yaml.safe_load(text) or {}), repr(mark)


def test_init_writes_no_config_key_from_data_end_to_end(runner: CliRunner, write: Writer) -> None:
    """The reported exploit: init then validate with the written mapping never sees an api: key."""
    cell = f"x\x85{INJECTED}\x85#"
    record = {"Call ID": "c1", "Subject": cell, "Recording": "https://cdn.example.com/1.mp3"}
    manifest = write("m.jsonl", json.dumps(record) + "\n")
    out = manifest.with_name("m.yaml")
    runner.invoke(app, ["init", str(manifest), "-o", str(out)])
    assert "api" not in yaml.safe_load(out.read_text(encoding="utf-8"))


def test_scalars_read_back_as_the_same_string() -> None:
    """scalar() writes NEL, LS, PS, controls and bidi marks as escapes that read back exactly."""
    for text in ["a\x85b", "a\u2028b", "tab\there", "\u202eevil", "x: y", "'q'", "#", "010"]:
        assert yaml.safe_load("k: " + scalar(text))["k"] == text
        assert all(c not in scalar(text) for c in "\x85\u2028\u2029\u202e\t")


def test_comments_hold_one_line_whatever_the_text() -> None:
    """comment_block escapes every YAML line break: each line it returns starts with #."""
    lines = comment_block("one\x85two\u2028three\u2029four\rfive\nsix")
    assert all(line.startswith("#") for line in lines)
    assert yaml.safe_load("\n".join(lines)) is None


CELL = st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=30)


@settings(max_examples=150)
@given(
    st.lists(CELL.filter(lambda s: s.strip()), min_size=1, max_size=5, unique=True),
    st.lists(st.lists(CELL, min_size=5, max_size=5), min_size=1, max_size=4),
)
def test_init_output_always_parses_to_the_mapping_it_meant(
    headers: list[str], cells: list[list[str]]
) -> None:
    """Random headers and cells: init writes a file that parses, with no key it did not mean."""
    import tempfile

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(headers)
    for row in cells:
        writer.writerow(row[: len(headers)])
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "m.csv"
        path.write_text(out.getvalue(), encoding="utf-8")
        try:
            sample = read_sample(str(path))
        except Exception as exc:  # the reader refuses some files: one line, never a crash
            assert type(exc).__name__ == "ManifestError", exc
            return
        written = mapping_text(sample)  # refuses (UsageError) rather than write a mismatch
    loaded = yaml.safe_load(written.text) or {}
    allowed = {
        "manifest",
        "timezone",
        "ambiguous",
        "phone_region",
        "external_id_prefix",
        "defaults",
        "columns",
        "participants",
    }
    assert set(loaded) <= allowed
