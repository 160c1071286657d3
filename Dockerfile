FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY syndicate ./syndicate
COPY tasks ./tasks
RUN pip install --no-cache-dir .
COPY config ./config
USER nobody
ENV SYNDICATE_CONFIG=/app/config/syndicate.toml
CMD ["syndicate", "run"]
