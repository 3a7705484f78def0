# feedwatch: `feedwatch run` in a small image. Build: docker build -t feedwatch .
# The install step is scripts/install-venv.sh, the same script `make` runs for the tests.

FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
COPY alembic ./alembic
COPY scripts/install-venv.sh ./scripts/
RUN sh scripts/install-venv.sh /opt/venv postgres

FROM python:3.11-slim
RUN groupadd --system --gid 10001 feedwatch \
    && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/feedwatch --create-home feedwatch \
    && mkdir -p /data /out \
    && chown 10001:10001 /data /out
COPY --from=build /opt/venv /opt/venv
COPY config /config
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    FEEDWATCH_CONFIG=/config/feeds.yaml \
    FEEDWATCH_TOPICS=/config/topics.yaml \
    FEEDWATCH_DATABASE_URL=sqlite:////data/feedwatch.db \
    FEEDWATCH_OUTPUT_DIR=/out
USER 10001:10001
WORKDIR /var/lib/feedwatch
# /config: the sources, topics and digests configs (mount your own); /data: the SQLite database;
# /out: digests and published topic feeds.
# The web interface is the same image with another entrypoint (it needs FEEDWATCH_WEB_TOKEN to
# listen on 0.0.0.0; publish the port on the host's loopback or behind a TLS proxy):
#   docker run -e FEEDWATCH_WEB_TOKEN=... -p 127.0.0.1:8080:8080 -v feedwatch-data:/data \
#     --entrypoint feedwatch feedwatch web --host 0.0.0.0 --port 8080
EXPOSE 8080
VOLUME ["/config", "/data", "/out"]
HEALTHCHECK --interval=60s --timeout=5s --start-period=30s \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:9108/healthz', timeout=4)"]
ENTRYPOINT ["feedwatch", "run"]
CMD ["--metrics", "127.0.0.1:9108"]
