# ae-import in a container: docs/operations.md#containers.
#
#   podman build -t ae-import:0.1.0 .        (or docker build; BASE to use another base)
#   podman run --rm -v ae-ledger:/data -v ./work:/work:ro -e AE_API_TOKEN \
#       ae-import:0.1.0 run /work/nightly.csv --config /work/mapping.yaml
#
# Two stages: the build stage makes a virtualenv with ae-import and its [cloud] extra; the
# final stage is the same slim base with that virtualenv only (no pip, no cache, no compiler,
# no source tree; botocore keeps the models of s3 and the credential services only;
# phonenumbers loses the geocoding, carrier and zone data that parsing never reads; shared
# objects are stripped of their symbols). It runs as an unprivileged user; the ledger lives in the /data volume.
# No secret is baked in: the token comes at run time (AE_API_TOKEN or --token-file), and a
# build behind a TLS-inspecting proxy passes its CA as a build secret, never a layer:
#   podman build --secret id=pip_cert,src=/etc/ssl/certs/ca-certificates.crt -t ae-import .

# An exact tag: Python 3.12.8 on Debian 12. Pin the digest too where the registry is reached:
# BASE=python:3.12.8-slim-bookworm@sha256:<digest>
ARG BASE=python:3.12.8-slim-bookworm

FROM ${BASE} AS build
# binutils for strip: the wheels' shared objects keep their symbols (uvloop's 13.6 MB is 1.6 MB stripped)
RUN apt-get update && apt-get install -y --no-install-recommends binutils && rm -rf /var/lib/apt/lists/*
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore
WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY ae_import ./ae_import
RUN --mount=type=secret,id=pip_cert \
    if [ -s /run/secrets/pip_cert ]; then export PIP_CERT=/run/secrets/pip_cert; fi; \
    python3 -m venv /opt/ae-import \
    && /opt/ae-import/bin/pip install --no-compile ".[cloud]" \
    && /opt/ae-import/bin/pip uninstall -y pip \
    && find /opt/ae-import -name "__pycache__" -prune -exec rm -rf {} + \
    && for model in /opt/ae-import/lib/python3*/site-packages/botocore/data/*/; do \
         case "$(basename "$model")" in s3|sts|sso|sso-oidc) ;; *) rm -rf "$model" ;; esac; \
       done \
    && rm -rf /opt/ae-import/lib/python3*/site-packages/phonenumbers/geodata \
              /opt/ae-import/lib/python3*/site-packages/phonenumbers/carrierdata \
              /opt/ae-import/lib/python3*/site-packages/phonenumbers/tzdata \
    && if command -v strip >/dev/null; then \
         find /opt/ae-import -name "*.so" -exec strip --strip-unneeded {} +; \
       fi

FROM ${BASE}
RUN useradd --system --uid 10001 --user-group --home-dir /data --no-create-home \
        --shell /usr/sbin/nologin ae-import \
    && mkdir -p /data && chown 10001:10001 /data
COPY --from=build /opt/ae-import /opt/ae-import
ENV PATH=/opt/ae-import/bin:$PATH PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
VOLUME ["/data"]
WORKDIR /data
USER 10001:10001
ENTRYPOINT ["ae-import"]
CMD ["--help"]
