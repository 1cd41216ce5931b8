# One image for the code location (gRPC server), the webserver and the daemon.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 DAGSTER_HOME=/opt/dagster/dagster_home
WORKDIR /opt/dagster/app

COPY pyproject.toml README.md ./
COPY channel_assets ./channel_assets
RUN pip install --no-cache-dir .

COPY workspace.yaml ./
COPY deploy/workspace.docker.yaml ./deploy/workspace.docker.yaml
COPY deploy/dagster.postgres.yaml ${DAGSTER_HOME}/dagster.yaml

EXPOSE 3000 4000
