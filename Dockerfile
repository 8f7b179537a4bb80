# syntax=docker/dockerfile:1
#
# One image for every process of the ECRIN assistant: the Rasa server, the action server
# and the staff review app. The command chooses the process:
#
#   bot run                  all three in one container (the default: a demo on SQLite)
#   bot run --only rasa      the Rasa server alone  (port 5005)
#   bot run --only actions   the action server alone (port 5055)
#   bot run --only review    the staff review app alone (port 8080)
#
# Build:  docker build -t ecrin-assistant .      (trains the model: ~10 min on 2 cores)
# See docs/deployment.md for Compose and Kubernetes.

ARG PYTHON_IMAGE=python:3.10-slim-bookworm

# ---------------------------------------------------------------------------------------
# Build stage: the locked dependencies, the spaCy pipeline and the trained model.
# ---------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS build

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    RASA_TELEMETRY_ENABLED=false \
    TF_CPP_MIN_LOG_LEVEL=2 \
    SQLALCHEMY_SILENCE_UBER_WARNING=1 \
    HF_HUB_OFFLINE=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH

# The venv lives outside /app so that the runtime stage can copy it whole; both stages use
# the same base image, so its interpreter symlinks stay valid.
RUN python -m venv /opt/venv

WORKDIR /app

# Dependencies first, in their own layer: they change far less often than the code.
# requirements.lock pins the runtime dependencies of pyproject.toml only; the test tools
# (pytest, Playwright, ruff, ...) are in requirements-dev.lock, which the image never uses.
COPY requirements.lock ./
RUN python -m pip install --require-hashes --no-deps -r requirements.lock

# The project itself, installed in editable mode as `make` does: bot/ finds data/, models/
# and the Rasa configuration files relative to its own source directory (/app).
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY actions ./actions
RUN python -m pip install --no-deps --no-build-isolation -e .

# Training data and Rasa configuration.
COPY config.yml domain.yml endpoints.yml credentials.yml ./
COPY data ./data
# What "Train and deploy" judges a new model on before it goes live (docs/models.md): the
# held-out split and the multi-turn conversations.
COPY tests/nlu ./tests/nlu
COPY tests/conversations ./tests/conversations

# The demo database doubles as the source of partner names and cities for the spaCy
# pipeline (`bot nlp build` reads them from DATABASE_URL), so seed it before building.
# Then train exactly as `make train` does. Rasa's training cache (.rasa/) is not needed
# at run time. /var/lib/ecrin/models is where Compose and Kubernetes mount the model store
# (MODEL_STORE_DIR): made here, so that a new volume is the service user's too.
ENV DATABASE_URL=sqlite:////var/lib/ecrin/ecrin.db
RUN mkdir -p /var/lib/ecrin/models \
 && bot db upgrade \
 && bot db seed \
 && bot nlp build \
 && rasa train --fixed-model-name ecrin --out models \
 && rm -rf .rasa

# ---------------------------------------------------------------------------------------
# Runtime stage: the venv, the source tree and the models; no compilers, no pip cache,
# nothing downloaded when a container starts.
# ---------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime

ENV VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    RASA_TELEMETRY_ENABLED=false \
    TF_CPP_MIN_LOG_LEVEL=2 \
    TF_ENABLE_ONEDNN_OPTS=0 \
    SQLALCHEMY_SILENCE_UBER_WARNING=1 \
    HF_HUB_OFFLINE=1 \
    HOME=/home/ecrin \
    RASA_INTERFACE=0.0.0.0 \
    REVIEW_INTERFACE=0.0.0.0 \
    DATABASE_URL=sqlite:////var/lib/ecrin/ecrin.db \
    TRACKER_STORE_URL=sqlite:////var/lib/ecrin/tracker.db
# Inside a container the servers must listen on every interface to be reachable at all,
# hence the *_INTERFACE defaults above (the code's own default, 127.0.0.1, suits a laptop).
# The SQLite URLs make `docker run` of the image work on its own, with the seeded demo
# database from the build stage; Compose and Kubernetes point both at PostgreSQL.

RUN groupadd --system --gid 10001 ecrin \
 && useradd --system --uid 10001 --gid ecrin --create-home --home-dir /home/ecrin \
      --shell /usr/sbin/nologin ecrin

COPY --from=build /opt/venv /opt/venv
# The code stays owned by root (read-only for the service user); only the SQLite demo
# directory is writable.
COPY --from=build /app /app
COPY --from=build --chown=10001:10001 /var/lib/ecrin /var/lib/ecrin

WORKDIR /app
# Numeric, so that Kubernetes' runAsNonRoot can verify it without reading /etc/passwd.
USER 10001:10001

# Rasa (web chat, REST and Telegram webhooks), action server, staff review app.
EXPOSE 5005 5055 8080

# For the default `bot run` (and `--only rasa`): the Rasa server answers GET / once the
# model is loaded, which takes a minute or two. Compose and Kubernetes define their own
# checks per process.
HEALTHCHECK --interval=30s --timeout=5s --start-period=180s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/' % os.environ.get('RASA_PORT', '5005'), timeout=4)"]

CMD ["bot", "run"]
