"""The Dockerfile: multi-stage, a pinned slim base, a user that is not root, no secret baked in."""

from __future__ import annotations

import json
import re

from tests.helpers import ROOT

TEXT = (ROOT / "Dockerfile").read_text(encoding="utf-8")


def instructions() -> list[tuple[str, str]]:
    """Return (INSTRUCTION, arguments) for each instruction, continuation lines joined."""
    joined = re.sub(r"\\\n", " ", TEXT)
    found = []
    for raw in joined.splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            found.append((word.upper(), rest.strip()))
    return found


def test_two_stages_from_one_pinned_slim_base() -> None:
    """Both stages start from BASE, an exact slim tag (a version, never latest)."""
    base = next(rest for word, rest in instructions() if word == "ARG" and rest.startswith("BASE="))
    image = base.removeprefix("BASE=")
    assert re.fullmatch(r"python:3\.\d+\.\d+-slim-\w+(@sha256:[0-9a-f]{64})?", image), image
    froms = [rest for word, rest in instructions() if word == "FROM"]
    assert froms == ["${BASE} AS build", "${BASE}"]


def test_the_final_stage_runs_as_a_user_with_the_ledger_volume() -> None:
    """USER is not root, /data is a volume and the workdir, the entry point is ae-import."""
    final = instructions()[[w for w, _ in instructions()].index("FROM", 2) :]
    user = [rest for word, rest in final if word == "USER"]
    assert user and user[-1].split(":")[0] not in ("root", "0")
    assert ("VOLUME", '["/data"]') in final and ("WORKDIR", "/data") in final
    entry = [json.loads(rest) for word, rest in final if word == "ENTRYPOINT"]
    assert entry == [["ae-import"]]
    assert "COPY --from=build /opt/ae-import /opt/ae-import" in [f"{w} {r}" for w, r in final]


def test_the_cloud_extra_is_installed() -> None:
    """The image signs s3://, gs:// and az:// references: the [cloud] extra goes in."""
    assert 'pip install --no-compile ".[cloud]"' in TEXT


def test_no_secret_is_baked_in() -> None:
    """No token, key or password in ENV, ARG or a copied file; the CA is a build secret."""
    for word, rest in instructions():
        if word in ("ENV", "ARG"):
            assert not re.search(r"TOKEN|SECRET|PASSWORD|KEY|CREDENTIAL", rest, re.IGNORECASE)
        if word in ("COPY", "ADD"):
            assert not re.search(r"token|\.pem|\.key|credentials|\.env\b", rest), rest
    assert "--mount=type=secret,id=pip_cert" in TEXT
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    assert ignored[1] == "*"  # everything out, then only what the build copies


def test_the_image_drops_what_the_importer_never_reads() -> None:
    """The build trims botocore's models, phonenumbers' geodata and shared-object symbols."""
    assert "phonenumbers/geodata" in TEXT
    assert "strip --strip-unneeded" in TEXT
    assert "s3|sts|sso|sso-oidc" in TEXT
