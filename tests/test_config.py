"""Tests of the YAML mapping file: schema, unknown keys, unsafe tags, bad values."""

from __future__ import annotations

from pathlib import Path

import pytest

from ae_import.config import load_config
from ae_import.errors import ConfigError
from ae_import.mapping import EMPTY_MAPPING
from ae_import.mapping.mapper import Mapper
from tests.helpers import SAMPLES, Writer


def test_no_config_is_the_identity_mapping() -> None:
    """Without a file, the config is empty and every field maps to its own column."""
    config = load_config(None)
    assert config.mapping == EMPTY_MAPPING
    assert config.mapping.column_for("title") == "title"


def test_sample_config_loads() -> None:
    """The sample config loads with every section read."""
    mapping = load_config(SAMPLES / "salesforce.yaml").mapping
    assert mapping.column_for("external_id") == "Call ID"
    assert mapping.column_for("source_system") == "source_system"
    assert mapping.defaults["source_system"] == "salesforce"
    assert mapping.external_id_prefix == "sf:"
    assert mapping.timezone == "America/Denver"
    assert mapping.participants.list_column == "Attendees"
    assert mapping.participants.owner is not None
    assert mapping.participants.owner.items() == [
        ("name", "Owner Name"),
        ("email", "Owner Email"),
        ("phone", "Owner Phone"),
    ]


def test_config_is_frozen() -> None:
    """Settings are immutable once loaded."""
    mapping = load_config(SAMPLES / "salesforce.yaml").mapping
    with pytest.raises(AttributeError):
        mapping.timezone = "UTC"  # type: ignore[misc]
    with pytest.raises(TypeError):
        mapping.columns["title"] = "x"  # type: ignore[index]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "colums: {}\n",
            "unknown key 'colums' (did you mean 'columns'?); known keys: ambiguous, api, cloud, "
            "columns, defaults, external_id_prefix, manifest, media, participants, phone_region, "
            "run, timestamp_formats, timezone",
        ),
        (
            "columns:\n  titel: Subject\n",
            "unknown key 'titel' under columns (did you mean 'title'?)",
        ),
        ("defaults:\n  colour: red\n", "unknown key 'colour' under defaults"),
        ("participants:\n  owners: {}\n", "unknown key 'owners' under participants"),
        (
            "participants:\n  owner: {mail: E}\n",
            "unknown key 'mail' under participants.owner (did you mean 'email'?)",
        ),
        ("columns: [a, b]\n", "'columns' must be a mapping"),
        ("columns:\n  title: 12\n", "'columns.title' must be a non-empty string, got 12"),
        ("defaults:\n  external_id: x\n", "'external_id' cannot have a default"),
        ("defaults:\n  title: [a]\n", "defaults.title must be a plain value"),
        ("timezone: Mars/Olympus\n", "timezone: unknown time zone 'Mars/Olympus'"),
        ("- a\n- b\n", "the config must be a YAML mapping"),
        ("columns:\n  title: [unclosed\n", "not valid YAML"),
        ("a: !!python/object/apply:os.system ['echo hi']\n", "YAML tags such as !!python"),
        ("columns: !!python/name:os.system\n", "YAML tags such as !!python"),
    ],
)
def test_bad_configs_name_the_problem(write: Writer, text: str, message: str) -> None:
    """Every bad config is one ConfigError line naming the file and the key or fix."""
    path = write("map.yaml", text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.message.startswith(str(path))
    assert message in info.value.message
    assert "\n" not in info.value.message


def test_yaml_error_names_the_line(write: Writer) -> None:
    """A YAML syntax error names the line where it was found."""
    path = write("map.yaml", "defaults:\n  type: CALL\n  title: [oops\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.message.startswith(f"{path}:4:")


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("missing", "no such config file"),
        ("directory", "is a directory"),
        ("latin1", "not UTF-8"),
    ],
)
def test_unreadable_config_files(tmp_path: Path, setup: str, message: str) -> None:
    """A config that cannot be read is a ConfigError that says why."""
    path = tmp_path / "map.yaml"
    if setup == "directory":
        path.mkdir()
    elif setup == "latin1":
        path.write_bytes(b"defaults:\n  title: caf\xe9\n")
    with pytest.raises(ConfigError, match=message):
        load_config(path)


def test_empty_config_file_is_the_empty_mapping(write: Writer) -> None:
    """An empty file (or only comments) is a valid, empty config."""
    assert load_config(write("map.yaml", "# nothing yet\n")).mapping == EMPTY_MAPPING


def test_unreadable_default_is_refused_when_mapping_starts(write: Writer) -> None:
    """A default that cannot be converted stops the run before any row is read."""
    mapping = load_config(write("map.yaml", "defaults:\n  run_workflows: maybe\n")).mapping
    with pytest.raises(ConfigError, match=r"defaults.run_workflows: 'maybe' is not a boolean"):
        Mapper(mapping)


def test_unquoted_yaml_timestamps_in_defaults(write: Writer) -> None:
    """An unquoted YAML timestamp default keeps its text; a bare date says to write a time."""
    config = load_config(write("c.yaml", "defaults:\n  start_at: 2024-03-05T10:00:00Z\n"))
    assert config.mapping.defaults["start_at"] == "2024-03-05T10:00:00+00:00"
    with pytest.raises(ConfigError) as info:
        load_config(write("d.yaml", "defaults:\n  start_at: 2024-03-05\n"))
    assert info.value.message.endswith(
        "defaults.start_at: 2024-03-05 is a date without a time; write a full timestamp in "
        "quotes, e.g. '2024-03-05T09:00:00Z'"
    )


def billion_laughs(levels: int = 9) -> str:
    """Return a config whose defaults.title is nine levels of nine aliases (9**9 strings)."""
    anchors = ["&a [x,x,x,x,x,x,x,x,x]"]
    for index in range(1, levels):
        name, prev = chr(ord("a") + index), chr(ord("a") + index - 1)
        anchors.append(f"&{name} [{','.join([f'*{prev}'] * 9)}]")
    return "defaults:\n  title: [" + ", ".join(anchors) + "]\n"


def test_a_yaml_alias_bomb_is_refused_before_it_expands(write: Writer) -> None:
    """300 bytes of nested anchors (9**9 strings once walked): refused at the first alias."""
    path = write("bomb.yaml", billion_laughs())
    with pytest.raises(ConfigError, match=r"bomb.yaml:2: YAML aliases \(\*name\) are not allowed"):
        load_config(path)


def test_deep_nesting_in_a_config_is_one_line(write: Writer) -> None:
    """5,000 [ in a config: a config error naming the depth, not a RecursionError (exit 70)."""
    with pytest.raises(ConfigError, match="nested more than 32 levels deep"):
        load_config(write("deep.yaml", "defaults: " + "[" * 5000 + "\n"))


def test_a_value_quoted_in_a_message_is_cut_short(write: Writer) -> None:
    """A huge or nested value in an error is shown cut to a few dozen characters."""
    path = write("c.yaml", "manifest:\n  skip_lines: [" + ", ".join(["aaaaaaaaaa"] * 1000) + "]\n")
    with pytest.raises(ConfigError) as refused:
        load_config(path)
    assert len(refused.value.message) < 200
    assert "..." in refused.value.message


def test_yaml_1_1_number_forms_stay_the_text_written(write: Writer) -> None:
    """010, 1_0, 1:30 and 0x1F as value-map keys match the cells 010, 1_0, 1:30 and 0x1F."""
    path = write(
        "c.yaml",
        "columns:\n  type:\n    column: Kind\n    map: {010: CALL, 1_0: CALL, 1:30: MEETING, "
        "0x1F: MEETING, 7: CALL}\n",
    )
    spec = load_config(path).mapping.fields["type"]
    assert spec.value_map is not None
    assert dict(spec.value_map) == {
        "010": "CALL",
        "1_0": "CALL",
        "1:30": "MEETING",
        "0x1F": "MEETING",
        "7": "CALL",
    }


def test_media_auth_names_env_vars_never_secrets(tmp_path: Path) -> None:
    """media.auth reads hosts with Basic or bearer env var names; a secret-looking value fails."""
    from ae_import.media import HostAuth

    path = tmp_path / "c.yaml"
    path.write_text(
        "media:\n  auth:\n"
        "    - {host: api.twilio.com, basic: {user_env: TW_SID, password_env: TW_TOKEN}}\n"
        "    - {host: graph.microsoft.com, bearer_env: GRAPH_TOKEN}\n"
    )
    assert load_config(path).media_auth.hosts == (
        HostAuth("api.twilio.com", user_env="TW_SID", password_env="TW_TOKEN"),
        HostAuth("graph.microsoft.com", bearer_env="GRAPH_TOKEN"),
    )
    for bad, said in (
        ("{host: h.com, bearer_env: 'eyJhbGciOi.secret-token'}", "never hold the secret"),
        ("{host: h.com}", "needs one of basic: or bearer_env:"),
        ("{host: 'https://h.com/x', bearer_env: T}", "must be a host name"),
        ("{host: h.com, bearer: T}", "unknown key 'bearer'"),
    ):
        path.write_text(f"media:\n  auth:\n    - {bad}\n")
        with pytest.raises(ConfigError, match=said):
            load_config(path)
