"""The docs cannot drift: docs/cli.md is generated and current, the README stays a first page."""

from __future__ import annotations

import importlib.util
import re
import tomllib
from pathlib import Path
from types import ModuleType
from typing import Annotated, Any

import pytest
import typer
import typer.main

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
README = ROOT / "README.md"


def _cli_docs() -> ModuleType:
    """Load scripts/cli_docs.py (scripts/ is not a package)."""
    spec = importlib.util.spec_from_file_location("cli_docs", ROOT / "scripts" / "cli_docs.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _sections(text: str) -> dict[str, str]:
    """Split Markdown at its level-2 headings: heading text to the section's body."""
    parts = re.split(r"^## (.+)$", text, flags=re.MULTILINE)
    return {parts[i].strip(): parts[i + 1] for i in range(1, len(parts), 2)}


def _commands() -> list[tuple[str, Any, Any]]:
    """Return (command path, command, context) for ae-import and every command under it."""
    from ae_import.commands import app

    group: Any = typer.main.get_command(app)  # a Group: list_commands, get_command
    ctx = group.context_class(group, info_name="ae-import", **group.context_settings)
    found = [("ae-import", group, ctx)]
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None
        sub = command.context_class(command, parent=ctx, info_name=name)
        found.append((sub.command_path, command, sub))
    return found


def test_cli_md_is_what_the_generator_writes_now() -> None:
    """docs/cli.md equals what scripts/cli_docs.py makes of today's commands."""
    written = (DOCS / "cli.md").read_text(encoding="utf-8")
    assert written == _cli_docs().render_app(), (
        "docs/cli.md is stale: run `python scripts/cli_docs.py` and commit it"
    )


def test_cli_md_names_every_option_of_every_command() -> None:
    """Each command has a section naming each of its options and arguments, hidden ones too."""
    sections = _sections((DOCS / "cli.md").read_text(encoding="utf-8"))
    commands = _commands()
    assert len(commands) >= 6  # ae-import and its five commands
    for path, command, ctx in commands:
        assert path in sections, f"docs/cli.md has no section for {path}"
        body = sections[path]
        for param in command.get_params(ctx):
            if param.param_type_name == "argument":
                names = [str(param.metavar or param.name.upper())]
            else:
                names = [*param.opts, *param.secondary_opts]
            for name in names:
                assert re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", body), (
                    f"docs/cli.md: {path} does not mention {name}"
                )


def test_generator_shows_env_vars_hidden_and_repeatable_options_and_subgroups() -> None:
    """The generator reads whatever Click knows: envvar, hidden, multiple, nested commands."""
    toy = typer.Typer(name="toy", add_completion=False)
    db = typer.Typer()
    toy.add_typer(db, name="db", help="Database commands.")

    @toy.command()
    def load(
        source: Annotated[str, typer.Argument(metavar="SOURCE", help="Where from.")],
        level: Annotated[int, typer.Option(envvar="TOY_LEVEL", help="How hard.")] = 3,
        old: Annotated[int | None, typer.Option(hidden=True, help="Old name.")] = None,
        tag: Annotated[list[str] | None, typer.Option(help="A tag.")] = None,
    ) -> None:
        """Load things."""

    @db.command()
    def migrate() -> None:
        """Migrate the database."""

    text = _cli_docs().render(typer.main.get_command(toy), "toy")
    sections = _sections(text)
    assert set(sections) == {"toy", "toy load", "toy db", "toy db migrate"}
    load_doc = sections["toy load"]
    assert "| option | value | default | env | help |" in load_doc
    level_row = next(line for line in load_doc.splitlines() if "`--level`" in line)
    assert "`TOY_LEVEL`" in level_row
    assert "`3`" in level_row
    old_row = next(line for line in load_doc.splitlines() if "`--old`" in line)
    assert "hidden from --help" in old_row
    tag_row = next(line for line in load_doc.splitlines() if "`--tag`" in line)
    assert "repeatable" in tag_row
    assert "| `SOURCE` |" in load_doc
    assert "Migrate the database." in sections["toy db migrate"]
    assert "| env |" not in sections["toy db migrate"]  # no env column where no option has one


def test_check_fails_on_a_stale_file_and_names_the_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """--check exits 1 on a stale file, naming the command that regenerates it; then 0."""
    module = _cli_docs()
    target = tmp_path / "cli.md"
    target.write_text("# Command reference\n\nout of date\n", encoding="utf-8")
    monkeypatch.setattr(module, "TARGET", target)
    monkeypatch.setattr(module, "ROOT", tmp_path)
    assert module.main(["--check"]) == 1
    assert "python scripts/cli_docs.py" in capsys.readouterr().err
    assert module.main([]) == 0
    assert target.read_text(encoding="utf-8") == module.render_app()
    assert module.main(["--check"]) == 0


def _fenced_blocks(text: str) -> list[list[str]]:
    """Return the contents of the Markdown fenced code blocks of ``text``, in order."""
    blocks: list[list[str]] = []
    current: list[str] | None = None
    for line in text.splitlines():
        if line.startswith("```"):
            if current is None:
                current = []
            else:
                blocks.append(current)
                current = None
        elif current is not None:
            current.append(line)
    return blocks


def test_readme_is_a_first_page_that_starts_with_the_two_commands() -> None:
    """README.md: at most 200 lines, opening with the sandbox import and the CI test command."""
    text = README.read_text(encoding="utf-8")
    lines = text.splitlines()
    assert len(lines) <= 200
    assert lines[0].startswith("Set up and import the sample")
    assert lines[2] == "```sh"
    first, second = _fenced_blocks(text)[:2]
    assert len(first) == 1
    assert len(second) == 1
    assert first[0].startswith("python3 -m venv .venv && ")
    assert "ae-import run samples/salesforce-calls.csv" in first[0]
    assert "--sandbox" in first[0]
    assert second[0].startswith("python3 -m venv .venv && ")
    assert second[0].endswith("python scripts/check.py")
    # What .ci/run runs: awk '/^```/{fence++; next} fence==3{print; exit}' README.md
    fence = 0
    ci_command = None
    for line in lines:
        if line.startswith("```"):
            fence += 1
            continue
        if fence == 3:
            ci_command = line
            break
    assert ci_command == second[0]
    before_heading = text.split("\n# ", 1)[0]
    assert len(_fenced_blocks(before_heading)) == 2  # nothing else before the title


def _slug(heading: str) -> str:
    """Return GitHub's anchor for a heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    """Return the anchors of every heading of a Markdown file (code blocks left out)."""
    found: set[str] = set()
    fenced = False
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and (match := re.match(r"^#{1,6} (.+)$", line)):
            slug = _slug(match[1])
            count = 1
            unique = slug
            while unique in found:
                unique = f"{slug}-{count}"
                count += 1
            found.add(unique)
    return found


def test_readme_links_every_doc_and_every_link_resolves() -> None:
    """README links each docs/*.md; each relative link in README and docs/ reaches a file."""
    readme = README.read_text(encoding="utf-8")
    for doc in sorted(DOCS.glob("*.md")):
        assert f"](docs/{doc.name})" in readme, f"README.md does not link docs/{doc.name}"
    for page in [README, *sorted(DOCS.glob("*.md"))]:
        text = page.read_text(encoding="utf-8")
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if re.match(r"^[a-z]+:", target):
                continue  # http(s), mailto: not checked here
            file_part, _, anchor = target.partition("#")
            linked = (page.parent / file_part).resolve() if file_part else page
            assert linked.exists(), f"{page.name}: broken link {target}"
            if anchor and linked.suffix == ".md":
                assert anchor in _anchors(linked), f"{page.name}: no heading for {target}"


def test_every_dependency_has_a_line_of_reason() -> None:
    """docs/dependencies.md has a '- name' line for every runtime and dev dependency."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    wanted = [*project["dependencies"], *project["optional-dependencies"]["dev"]]
    lines = (DOCS / "dependencies.md").read_text(encoding="utf-8").lower().splitlines()
    for requirement in wanted:
        match = re.match(r"[A-Za-z0-9_.\-]+", requirement)
        assert match is not None
        name = match[0].lower()
        assert any(re.match(rf"- {re.escape(name)}\b", line) for line in lines), (
            f"docs/dependencies.md: no line for {name}"
        )
