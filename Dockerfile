# authserver as a container: the wheel on a slim Python 3.11, run by gunicorn as a
# non-root user. Works with a read-only root filesystem: the only writable places are
# the instance volume (/var/lib/authserver) and a tmpfs at /tmp.
FROM python:3.11-slim AS build
WORKDIR /src
COPY setup.cfg pyproject.toml README.md ./
COPY authserver ./authserver
RUN pip wheel --no-cache-dir --no-deps -w /dist .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    AUTHSERVER_INSTANCE_PATH=/var/lib/authserver
COPY --from=build /dist /dist
RUN pip install --no-cache-dir /dist/*.whl && rm -rf /dist \
    && useradd --system --uid 10001 --home-dir /var/lib/authserver --create-home authserver
USER authserver
WORKDIR /var/lib/authserver
VOLUME ["/var/lib/authserver"]
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=2).status != 200)"]
CMD ["gunicorn", "-c", "python:authserver.web.gunicorn_conf", "--workers", "2", "--bind", "0.0.0.0:8000", "--worker-tmp-dir", "/tmp", \
     "--access-logfile", "-", "authserver:create_app()"]
