# CPU image of the clickbait service. Build: docker build -t clickbait .
# Run:   docker run -p 8000:8000 -v clickbait-data:/data clickbait   (then open http://localhost:8000/)
# /data holds the label database, the model registry and job logs: keep it on a volume.
# Several replicas with PostgreSQL and a shared registry: see compose.yaml.
# The image is the lean install: the onnx engine, no torch; it scores, serves and filters, and a
# retrain started in it fails with the extra it needs. A training image (retraining in the
# container, the torch engines): --build-arg EXTRAS=postgres,train, with PyTorch's CPU wheel index
# as --build-arg PIP_EXTRA_INDEX_URL=<that index> (torch from the default index is its CUDA build).

# --- build: wheels for the package and its dependencies (PostgreSQL driver included) ---
FROM python:3.11-slim AS build
ARG PIP_EXTRA_INDEX_URL=""
ARG EXTRAS=postgres
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY classifier ./classifier
COPY training ./training
COPY service ./service
RUN pip wheel --wheel-dir /wheels ".[${EXTRAS}]"

# --- run: only the installed wheels, a non-root user, the converted base baked in ---
FROM python:3.11-slim
ARG EXTRAS=postgres
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    CLICKBAIT_HOST=0.0.0.0 CLICKBAIT_PORT=8000 CLICKBAIT_CACHE_DIR=/home/app/.cache/clickbait \
    CLICKBAIT_DATA_DIR=/data
RUN useradd --create-home --uid 10001 app && mkdir /data && chown app /data
COPY --from=build /wheels /wheels
RUN pip install --no-index --find-links /wheels "clickbait-classifier[${EXTRAS}]" && rm -rf /wheels

USER app
# Convert the bundled base model and build the default model's int8 graph into the image, so a
# container is ready in seconds.
RUN clickbait score "warm-up headline" >/dev/null
VOLUME /data
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=60s \
  CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/ready').status != 200)"
CMD ["clickbait", "serve"]
