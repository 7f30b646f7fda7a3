"""``s3://`` references signed with botocore: SigV4 query signing, the full AWS credential chain.

Credentials come from botocore's own chain: environment variables, the shared config
and credentials files and their profiles (``cloud.s3.profile`` or ``AWS_PROFILE``),
SSO, web identity (EKS), container and instance roles. Temporary credentials are
refreshed by botocore before they expire (15 minutes ahead), so a URL made for one
attempt does not outlive them.

The endpoint is ``cloud.s3.endpoint_url``, else ``AWS_ENDPOINT_URL_S3``, else
``AWS_ENDPOINT_URL`` (unless ``AWS_IGNORE_CONFIGURED_ENDPOINT_URLS`` is true), else
AWS. With an endpoint of its own (MinIO, R2, Wasabi, a local test server) the URL is
path-style (``https://host/bucket/key``), which every S3-compatible store serves;
``cloud.s3.addressing_style`` may say otherwise. The region is ``cloud.s3.region``,
else ``AWS_REGION``, else the profile's or ``AWS_DEFAULT_REGION``, else us-east-1:
SigV4 signs the region, and a bucket elsewhere refuses a URL signed for another.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ae_import.errors import CloudError
from ae_import.options import parse_bool
from ae_import.text import safe_text

from . import Reference, S3Config
from .wire import botocore_settings

if TYPE_CHECKING:
    from ae_import.net import Network

__all__ = ["S3Signer", "endpoint_for"]


def _true(text: str) -> bool:
    """Tell whether an env var says true (anything unreadable is false)."""
    try:
        return parse_bool(text)
    except ValueError:
        return False


def endpoint_for(config: S3Config, env: Mapping[str, str]) -> tuple[str | None, str]:
    """Return the S3 endpoint URL (None: AWS) and where it was set."""
    if config.endpoint_url:
        return config.endpoint_url, "cloud.s3.endpoint_url"
    if _true(env.get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "")):
        return None, "AWS"
    for name in ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"):
        if env.get(name, "").strip():
            return env[name].strip(), name
    return None, "AWS"


class S3Signer:
    """Presigns S3 GetObject URLs with one botocore client, made once."""

    def __init__(
        self, config: S3Config, env: Mapping[str, str], network: Network | None = None
    ) -> None:
        """Make the botocore session and client; no network call is made.

        With ``network``, the client's requests take its proxy and its trust (``wire``).
        """
        import botocore.exceptions
        import botocore.session
        from botocore.config import Config

        self.endpoint, self.endpoint_origin = endpoint_for(config, env)
        try:
            self.session: Any = botocore.session.Session(profile=config.profile)
            region = (
                config.region
                or env.get("AWS_REGION")
                or self.session.get_config_variable("region")
                or "us-east-1"
            )
            style = config.addressing_style or ("path" if self.endpoint else "auto")

            def client(routed: dict[str, Any], verify: str | None = None) -> Any:
                return self.session.create_client(
                    "s3",
                    region_name=region,
                    endpoint_url=self.endpoint,
                    verify=verify,
                    config=Config(
                        **routed,
                        signature_version="s3v4",
                        s3={"addressing_style": style},
                        max_pool_connections=50,  # staging: lookups and parts at once
                        # S3 may take minutes to complete a multipart upload of many GB
                        read_timeout=300,
                    ),
                )

            self.client: Any = client({})
            if network is not None:
                # The proxy is chosen for the host botocore resolved (s3.amazonaws.com in
                # us-east-1, .amazonaws.com.cn in China, FIPS...), buckets being its
                # subdomains; the CA file botocore would read itself joins the trust.
                aws_ca = self.session.get_config_variable("ca_bundle")
                if aws_ca and not Path(aws_ca).expanduser().is_file():
                    raise CloudError(
                        f"s3: the CA file {safe_text(str(aws_ca))} (AWS_CA_BUNDLE or ca_bundle "
                        "in the AWS config) is not a file; fix the path or unset it"
                    )
                endpoint = self.client.meta.endpoint_url
                self.client = client(*botocore_settings(network, endpoint, aws_ca))
        except botocore.exceptions.ProfileNotFound:
            raise CloudError(
                f"s3: no AWS profile '{config.profile or env.get('AWS_PROFILE')}' "
                "(cloud.s3.profile or AWS_PROFILE); "
                "check the name with: aws configure list-profiles"
            ) from None
        self.region: str = region
        self._no_credentials = botocore.exceptions.NoCredentialsError

    def sign(self, reference: Reference, expires_s: int, content_type: str) -> str:
        """Return a SigV4 presigned GET URL that answers with ``content_type``."""
        params = {
            "Bucket": reference.bucket,
            "Key": reference.key,
            "ResponseContentType": content_type,
        }
        try:
            url: str = self.client.generate_presigned_url(
                "get_object", Params=params, ExpiresIn=expires_s
            )
        except self._no_credentials:
            raise CloudError(_NO_CREDENTIALS) from None
        return url

    def describe(self) -> str:
        """Say where the credentials come from (method, profile), region and endpoint."""
        credentials = self.session.get_credentials()
        if credentials is None:
            raise CloudError(_NO_CREDENTIALS)
        profile = self.session.profile or "default"
        where = self.endpoint or "AWS"
        return (
            f"credentials from {credentials.method} (profile {profile}), region {self.region}, "
            f"endpoint {where}"
        )


_NO_CREDENTIALS = (
    "s3: no AWS credentials found; set AWS_PROFILE or cloud.s3.profile, run aws sso login, "
    "or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
)
