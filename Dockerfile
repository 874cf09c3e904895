# livegate: the gateway image (slim, non-root). Build from the repository root:
#   docker build -t livegate:0.1.0 .
#   docker run -p 4000:4000 -v $PWD/my-config.yaml:/etc/livegate/config.yaml:ro -e GEMINI_API_KEY=… livegate:0.1.0
# LIVEGATE_CONFIG and PORT say where the config is and which port to serve; arguments after the image name go to
# `livegate serve` (e.g. --workers 2). See deploy/README.md.
FROM python:3.12-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY gateway ./gateway
COPY translators ./translators
COPY schemas ./schemas
RUN pip install --no-cache-dir --no-compile --prefix=/install .

FROM python:3.12-slim
RUN useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin livegate \
    && mkdir -p /etc/livegate /var/lib/livegate \
    && chown livegate /var/lib/livegate
COPY --from=build /install /usr/local
ENV LIVEGATE_CONFIG=/etc/livegate/config.yaml \
    HOST=0.0.0.0 \
    PORT=4000 \
    LIVEGATE_LOG_FORMAT=json \
    PYTHONUNBUFFERED=1
WORKDIR /var/lib/livegate
USER 10001
EXPOSE 4000
# Liveness only: readiness (/health/readiness) is the load balancer's and the orchestrator's business.
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('PORT', '4000') + '/health/liveliness', timeout=2)"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["livegate", "serve"]
