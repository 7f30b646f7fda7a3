"""Credentials for media hosts (``media.auth`` in the config): names of env vars, never secrets.

A recording host that needs credentials (Twilio's Basic auth, a Graph or Zoom bearer
token) is named in the config with the environment variables that hold them::

    media:
      auth:
        - host: api.twilio.com
          basic: {user_env: TWILIO_ACCOUNT_SID, password_env: TWILIO_AUTH_TOKEN}
        - {host: graph.microsoft.com, bearer_env: GRAPH_TOKEN}

The values are read from the environment when a request is made; they are handed to
``redact.Scrubber`` by whoever writes what a host answered. A host is matched exactly
(any case) or, written ``*.example.com``, with any subdomain. Only https URLs get
credentials. The endpoint fetches media without credentials, so a row whose media is on
such a host is always staged (``ae_import.staging``).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

__all__ = ["ENV_NAME", "HostAuth", "MediaAuth", "MissingCredential"]

# What an environment variable's name looks like; anything else is taken for a secret.
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}\Z")


class MissingCredential(Exception):
    """An environment variable that ``media.auth`` names is not set (the message says which)."""


@dataclass(frozen=True)
class HostAuth:
    """One ``media.auth`` entry: a host and the env vars of its Basic or bearer credentials."""

    host: str
    bearer_env: str | None = None
    user_env: str | None = None
    password_env: str | None = None

    def matches(self, host: str) -> bool:
        """Tell whether ``host`` (a URL's host) is this entry's host."""
        want = self.host.lower().rstrip(".")
        host = host.lower().rstrip(".")
        if want.startswith("*."):
            return host.endswith(want[1:])
        return host == want

    def names(self) -> tuple[str, ...]:
        """Return the environment variables this entry reads."""
        return tuple(n for n in (self.bearer_env, self.user_env, self.password_env) if n)

    def headers(self, env: Mapping[str, str]) -> dict[str, str]:
        """Return the Authorization header; raise MissingCredential when a variable is unset."""
        for name in self.names():
            if not env.get(name):
                raise MissingCredential(
                    f"{name} is not set (media.auth names it for {self.host}); export it"
                )
        if self.bearer_env:
            return {"Authorization": f"Bearer {env[self.bearer_env]}"}
        assert self.user_env is not None and self.password_env is not None
        pair = f"{env[self.user_env]}:{env[self.password_env]}".encode()
        return {"Authorization": "Basic " + base64.b64encode(pair).decode("ascii")}


@dataclass(frozen=True)
class MediaAuth:
    """The ``media.auth`` list: which hosts get which credentials."""

    hosts: tuple[HostAuth, ...] = ()

    def for_url(self, url: str) -> HostAuth | None:
        """Return the entry whose host serves ``url`` (https only), or None."""
        if not self.hosts:
            return None
        try:
            parts = urlsplit(url.strip())
            host = parts.hostname
        except ValueError:
            return None
        if parts.scheme.lower() != "https" or not host:
            return None
        return next((entry for entry in self.hosts if entry.matches(host)), None)

    def secrets(self, env: Mapping[str, str]) -> list[str]:
        """Return every credential value set in ``env`` (for a Scrubber), and their Basic pairs."""
        found: list[str] = []
        for entry in self.hosts:
            found.extend(env[n] for n in entry.names() if env.get(n))
            if entry.user_env and entry.password_env:
                user, password = env.get(entry.user_env), env.get(entry.password_env)
                if user and password:
                    found.append(base64.b64encode(f"{user}:{password}".encode()).decode())
        return found
