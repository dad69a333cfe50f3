# news-monitor: the polling and alerting service, as a container.
# Build: docker build -t news-monitor .   Run with PostgreSQL: docker compose up -d
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# A fixed, unprivileged account: files it writes on a mounted /data keep one owner.
RUN groupadd --system --gid 10001 monitor \
    && useradd --system --uid 10001 --gid monitor --home-dir /data --no-create-home \
       --shell /usr/sbin/nologin monitor \
    && mkdir -p /data /etc/monitor \
    && chown monitor:monitor /data

WORKDIR /app
COPY pyproject.toml README.md ./
COPY monitor ./monitor
RUN pip install . \
    && monitor --help > /dev/null

# The shipped config and sample feeds; docker-compose.yml mounts ./config over /etc/monitor.
# /app/config points there too, so `monitor demo` (run from /app) finds seeds/ and the watchlist.
COPY config /etc/monitor
COPY seeds /app/seeds
RUN ln -s /etc/monitor /app/config

# Without PostgreSQL the service keeps its SQLite file on the /data volume. The HTTP
# endpoints (/healthz, /readyz, /metrics) listen on every address of the container's own
# network namespace, so the HEALTHCHECK and a metrics scraper both reach them.
ENV MONITOR_CONFIG=/etc/monitor/monitor.yaml \
    MONITOR_DATABASE_URL=sqlite:////data/monitor.db \
    MONITOR_HTTP__HOST=0.0.0.0 \
    MONITOR_HTTP__PORT=8080
VOLUME ["/data"]
EXPOSE 8080

USER monitor

HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4)"]

# SIGTERM (docker stop) lets the service finish the feed in hand and exit 0.
STOPSIGNAL SIGTERM
CMD ["monitor", "run", "--config", "/etc/monitor/monitor.yaml"]
