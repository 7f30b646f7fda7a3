"""Files a manifest names stay inside the folders trusted: no /proc, no ../, no symlink out."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ae_import.commands import app
from ae_import.reading import FileRefusal, read_referenced
from ae_import.reading import files as files_module

TOKEN = "sk-live-TOKEN-FROM-THE-ENVIRONMENT-1234"
CONFIG = """\
defaults: {type: CALL, source_system: crm}
columns:
  external_id: Id
  title: Subject
  media_url: Url
  transcript_text: {file: Transcript}
"""


def manifest(folder: Path, names: list[str]) -> Path:
    """Write a manifest whose rows name the transcript files ``names``."""
    rows = "".join(
        f'{i},Call,https://cdn.example.com/{i}.mp3,"{n}"\n' for i, n in enumerate(names, 1)
    )
    path = folder / "m.csv"
    path.write_text("Id,Subject,Url,Transcript\n" + rows, encoding="utf-8")
    (folder / "c.yaml").write_text(CONFIG, encoding="utf-8")
    return path


def test_references_outside_the_folder_never_reach_a_request(tmp_path: Path) -> None:
    """A symlink to /proc/self/environ, an absolute path, ../: problems; the token stays out."""
    folder = tmp_path / "export"
    folder.mkdir()
    (tmp_path / "outside.txt").write_text("not yours", encoding="utf-8")
    (folder / "env.txt").symlink_to("/proc/self/environ")
    (folder / "out.txt").symlink_to(tmp_path / "outside.txt")
    (folder / "ok.txt").write_text("Ava: hello", encoding="utf-8")
    names = ["env.txt", "/proc/self/environ.txt", "../outside.txt", "out.txt", "ok.txt"]
    path = manifest(folder, names)
    result = CliRunner().invoke(
        app,
        ["validate", str(path), "-c", str(folder / "c.yaml"), "--json", "--show-requests", "9"],
        env={"AE_API_TOKEN": TOKEN},
    )
    report = json.loads(result.stdout)
    assert [p["line"] for p in report["problems"]] == [2, 3, 4, 5]
    assert {p["code"] for p in report["problems"]} == {"transcript_file"}
    assert "system file (proc)" in report["problems"][0]["message"]
    assert "outside the manifest's folder" in report["problems"][2]["message"]
    assert report["requests"][0]["transcript_text"] == "Ava: hello"
    assert TOKEN not in result.stdout + result.stderr
    assert "not yours" not in result.stdout


def test_files_root_allows_a_folder_the_user_names(tmp_path: Path) -> None:
    """--files-root DIR (or run.files_root) lets rows name files there, and only there."""
    folder, shared = tmp_path / "export", tmp_path / "shared"
    folder.mkdir()
    shared.mkdir()
    (shared / "t.vtt").write_text("WEBVTT\n\n00:00.000 --> 00:01.000\n<v Ava>hi\n", "utf-8")
    path = manifest(folder, [str(shared / "t.vtt"), "../shared/t.vtt"])
    args = ["validate", str(path), "-c", str(folder / "c.yaml"), "--json", "--show-requests", "2"]
    refused = json.loads(CliRunner().invoke(app, args).stdout)
    assert refused["invalid"] == 2
    allowed = json.loads(CliRunner().invoke(app, [*args, "--files-root", str(shared)]).stdout)
    assert allowed["invalid"] == 0
    assert allowed["requests"][1]["transcript_text"] == "Ava: hi"


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("a\x00b.txt", "holds a NUL character"),
        ("file://otherhost/x.txt", "names a file on another host"),
        ("file:///proc/self/status", "is a system file (proc)"),
        ("/dev/zero", "is a system file (dev)"),
        ("   ", "names no file"),
    ],
)
def test_names_no_path_may_hold_are_problems_not_crashes(
    tmp_path: Path, name: str, message: str
) -> None:
    """A NUL, another host, a device: one refusal each, never ValueError (exit 70 before)."""
    with pytest.raises(FileRefusal, match=re.escape(message)):
        read_referenced(name, tmp_path, max_bytes=100)


def test_a_file_url_inside_the_folder_is_read(tmp_path: Path) -> None:
    """file:///... naming a file inside the folder is read like its path."""
    (tmp_path / "t.txt").write_text("hi", encoding="utf-8")
    real, data = read_referenced((tmp_path / "t.txt").as_uri(), tmp_path, max_bytes=100)
    assert (real.name, data) == ("t.txt", b"hi")


def test_an_empty_looking_file_that_yields_bytes_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Procfs says size 0 and yields bytes: refused even where no system tree is listed."""
    monkeypatch.setattr(files_module, "SYSTEM_TREES", ())
    if not os.path.exists("/proc/self/environ"):
        pytest.skip("no procfs on this platform")
    with pytest.raises(FileRefusal, match="says it is empty but is not"):
        read_referenced("/proc/self/environ", Path("/"), max_bytes=1 << 20)
