# The crmstream worker image: `docker compose up` runs it against the compose stack.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY crmstream ./crmstream
COPY agents ./agents
COPY schemas ./schemas
COPY state ./state
COPY scoring ./scoring
COPY web ./web
COPY notify ./notify
COPY analytics ./analytics
RUN pip install --no-cache-dir . && useradd --create-home crmstream
USER crmstream
ENV CRMSTREAM_WEB_HOST=0.0.0.0 CRMSTREAM_STATE_DIR=/tmp/crmstream
EXPOSE 6066 6067
CMD ["crmstream", "worker"]
