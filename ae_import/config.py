"""Settings and the YAML mapping file, as frozen dataclasses.

The mapping part (``columns``, ``defaults``, ``participants``, ``manifest``...) is parsed
by ``mapconfig.py``; this module reads the file and its ``api``, ``run`` and ``cloud``
sections.

The file is read with ``yaml.safe_load``'s loader only (tags such as ``!!python/object``
are refused), without aliases and at most ``MAX_DEPTH`` levels deep (``_Loader``). Every
key is checked; an unknown key is an error that names it and, where one is close, the key
that was probably meant.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

import yaml

from ae_import.errors import ConfigError
from ae_import.mapping import (
    EMPTY_MAPPING,
    MappingConfig,
    check_keys,
    mapping_of,
    parse_mapping,
    string_of,
)
from ae_import.media import (
    ENV_NAME,
    AzureConfig,
    CloudConfig,
    GcsConfig,
    HostAuth,
    MediaAuth,
    S3Config,
)
from ae_import.options import section_keys

__all__ = ["Config", "load_config"]

SECTIONS: tuple[Literal["api", "run"], ...] = ("api", "run")
_CLOUD_KEYS = {
    "s3": ("addressing_style", "endpoint_url", "profile", "region"),
    "gs": ("credentials_file", "endpoint_url", "service_account"),
    "az": ("account", "endpoint_url"),
}


@dataclass(frozen=True)
class Config:
    """Everything read from one config file."""

    path: Path | None = None
    mapping: MappingConfig = EMPTY_MAPPING
    api: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    run: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    cloud: CloudConfig = field(default_factory=CloudConfig)
    media_auth: MediaAuth = field(default_factory=MediaAuth)


def _parse_cloud(src: str, raw: Any) -> CloudConfig:
    """Read the ``cloud:`` section: per scheme (s3, gs, az), the settings that sign references."""
    data = mapping_of(src, "cloud", raw)
    check_keys(src, "cloud", data, tuple(_CLOUD_KEYS))
    found: dict[str, dict[str, Any]] = {}
    for scheme, keys in _CLOUD_KEYS.items():
        section = mapping_of(src, f"cloud.{scheme}", data.get(scheme))
        check_keys(src, f"cloud.{scheme}", section, keys)
        found[scheme] = {
            k: string_of(src, f"cloud.{scheme}.{k}", v) for k, v in section.items() if v is not None
        }
    style = found["s3"].get("addressing_style")
    if style not in (None, "auto", "path", "virtual"):
        raise ConfigError(f"{src}: cloud.s3.addressing_style must be auto, path or virtual")
    gs = dict(found["gs"])
    if "credentials_file" in gs:
        gs["credentials_file"] = Path(gs["credentials_file"]).expanduser()
    return CloudConfig(
        s3=S3Config(**found["s3"]), gs=GcsConfig(**gs), az=AzureConfig(**found["az"])
    )


def _env_name(src: str, where: str, value: Any) -> str:
    """Return an environment variable's name; refuse a value that looks like the secret itself."""
    name = string_of(src, where, value)
    if not ENV_NAME.match(name):
        raise ConfigError(
            f"{src}: '{where}' must name an environment variable (letters, digits, _), "
            "never hold the secret itself; export the secret and name its variable here"
        )
    return name


def _parse_media(src: str, raw: Any) -> MediaAuth:
    """Read the ``media:`` section: ``auth``, a list of hosts and the env vars of their secrets."""
    data = mapping_of(src, "media", raw)
    check_keys(src, "media", data, ("auth",))
    entries = data.get("auth") or []
    if not isinstance(entries, list):
        raise ConfigError(f"{src}: 'media.auth' must be a list of {{host: ..., ...}} entries")
    hosts: list[HostAuth] = []
    for number, item in enumerate(entries, start=1):
        where = f"media.auth[{number}]"
        entry = mapping_of(src, where, item)
        check_keys(src, where, entry, ("basic", "bearer_env", "host"))
        host = string_of(src, f"{where}.host", entry.get("host"))
        if "/" in host or ":" in host.removeprefix("*."):
            raise ConfigError(f"{src}: '{where}.host' must be a host name, such as api.twilio.com")
        basic = mapping_of(src, f"{where}.basic", entry.get("basic"))
        check_keys(src, f"{where}.basic", basic, ("password_env", "user_env"))
        bearer = entry.get("bearer_env")
        if (bearer is None) == (not basic):
            raise ConfigError(f"{src}: '{where}' needs one of basic: or bearer_env:")
        if bearer is not None:
            hosts.append(HostAuth(host, bearer_env=_env_name(src, f"{where}.bearer_env", bearer)))
            continue
        hosts.append(
            HostAuth(
                host,
                user_env=_env_name(src, f"{where}.basic.user_env", basic.get("user_env")),
                password_env=_env_name(
                    src, f"{where}.basic.password_env", basic.get("password_env")
                ),
            )
        )
    return MediaAuth(tuple(hosts))


MAX_DEPTH = 32  # nesting levels a config may have (a real one uses four)


class _Refused(yaml.YAMLError):
    """A config construct refused while composing: an alias, or nesting past MAX_DEPTH."""

    def __init__(self, problem: str, mark: yaml.Mark | None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.problem_mark = mark


class _Loader(yaml.SafeLoader):
    """``yaml.safe_load``'s loader, without aliases and with bounded nesting.

    A few hundred bytes of nested anchors and aliases expand to gigabytes once a value
    is walked (the "billion laughs"), and thousands of ``[`` exhaust the stack: both
    are refused while the document is composed, before any value exists.
    """

    _depth = 0

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        """Compose one node; refuse an alias, or a node nested past MAX_DEPTH."""
        if self.check_event(yaml.AliasEvent):
            mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
            raise _Refused(
                "YAML aliases (*name) are not allowed in the config; write the value out",
                mark,
            )
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
                raise _Refused(f"nested more than {MAX_DEPTH} levels deep", mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


# YAML 1.1 reads unquoted 010 as 8, 1_0 as 10, 1:30 as 90 and 0x1F as 31: a value map
# keyed on them would silently never match. Here, as in YAML 1.2, only plain decimal
# numbers are numbers; every other plain scalar stays the text the user wrote.
_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if not tag.endswith((":int", ":float"))]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:int", re.compile(r"^[-+]?(?:0|[1-9][0-9]*)$"), list("-+0123456789")
)
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:0|[1-9][0-9]*)\.[0-9]+(?:[eE][-+]?[0-9]+)?$"),
    list("-+0123456789"),
)


def _yaml_error(src: str, exc: yaml.YAMLError) -> ConfigError:
    mark = getattr(exc, "problem_mark", None)
    where = f"{src}:{mark.line + 1}" if mark is not None else src
    problem = getattr(exc, "problem", None) or str(exc)
    if isinstance(exc, _Refused):
        return ConfigError(f"{where}: {problem}")
    if isinstance(exc, yaml.constructor.ConstructorError) and "tag" in problem:
        return ConfigError(
            f"{where}: YAML tags such as !!python are not allowed; write plain values only"
        )
    return ConfigError(f"{where}: not valid YAML: {problem}; check the indentation and quoting")


def load_config(path: Path | None) -> Config:
    """Read and check the YAML config at ``path``; ``None`` gives the empty config."""
    if path is None:
        return Config()
    src = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{src}: no such config file; check the --config path") from None
    except IsADirectoryError:
        raise ConfigError(f"{src}: is a directory; --config takes a YAML file") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{src}: not UTF-8 text; save the config as UTF-8") from None
    except OSError as exc:
        raise ConfigError(f"{src}: cannot read the config: {exc.strerror}") from None
    try:
        data = yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        raise _yaml_error(src, exc) from None
    except RecursionError:
        raise ConfigError(f"{src}: nested too deeply to read; a config is a few levels") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{src}: the config must be a YAML mapping (key: value lines)")
    sections = {}
    for name in SECTIONS:
        section = mapping_of(src, name, data.get(name))
        check_keys(src, name, section, section_keys(name))
        sections[name] = MappingProxyType(dict(section))
    mapping_data = {k: v for k, v in data.items() if k not in ("api", "run", "media")}
    return Config(
        path=path,
        mapping=parse_mapping(src, mapping_data),
        api=sections["api"],
        run=sections["run"],
        cloud=_parse_cloud(src, data.get("cloud")),
        media_auth=_parse_media(src, data.get("media")),
    )
