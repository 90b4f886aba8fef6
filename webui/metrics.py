"""``GET /metrics``: Prometheus metrics (prometheus-client), off unless ``METRICS`` is on.

- Off (the default): no route (a 404) and no per-request work. On: open to anyone who reaches it unless
  ``METRICS_TOKEN`` is set; then ``Authorization: Bearer <token>`` is required (401 without it, 403 with
  another one).
- One view across gunicorn workers: with ``PROMETHEUS_MULTIPROC_DIR`` in the environment (gunicorn's
  master sets it up, ``webui.gunicorn_conf``), each worker writes its values to files there and a scrape,
  whichever worker gets it, adds up every worker's (prometheus-client's multiprocess mode). Without it (one
  process: ``serve``, tests) the values live in the app's own registry.
- Labels stay few: the route is the URL rule (``/api/conversations/<conversation_id>``), never the path;
  intents, commands and actions are the model's and the registries' names.
- Training jobs are counted from their records when scraped (``TrainingJobsCollector``), so every
  worker and machine that shares ``TRAINER_DIR`` reports the same numbers and no job is counted twice.

Import this module only inside a worker (``create_app`` does): prometheus-client chooses its multiprocess
mode when imported, so gunicorn's master must set ``PROMETHEUS_MULTIPROC_DIR`` before.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Iterator
from typing import Any

from flask import Flask, Response, current_app, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from webui import settings
from webui.errors import ApiError
from webui.lifecycle import HOLDER_KEY
from webui.observability import METRICS_KEY

logger = logging.getLogger(__name__)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
# Chat replies take milliseconds; model reloads and uploads take seconds.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
JOB_STATES = ("queued", "running", "done", "failed", "interrupted", "cancelled")
UNMATCHED = "<unmatched>"  # a 404 for a path no route has: one label, whatever the path
TOKEN_MISSING = "지표를 보려면 토큰이 필요해요. Authorization: Bearer 헤더로 보내 주세요."
TOKEN_WRONG = "지표 토큰이 맞지 않아요. 설정한 METRICS_TOKEN을 확인해 주세요."


def multiprocess_dir() -> str | None:
    """Where the workers' values are shared, when prometheus-client runs in multiprocess mode."""
    return settings.server_variable(MULTIPROC_ENV, "") or None


class Metrics:
    """The app's metrics and the hooks that feed them."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.registry = CollectorRegistry(auto_describe=True)
        registry = self.registry
        self.latency = Histogram("chatbot_http_request_duration_seconds", "Time to answer a request, per route.",
                                 ("method", "route"), buckets=LATENCY_BUCKETS, registry=registry)
        self.errors = Counter("chatbot_http_errors", "Responses with a 4xx or 5xx status, by status and error code.",
                              ("status", "code"), registry=registry)
        self.replies = Counter("chatbot_replies", "Chat replies, by intent and by whether the bot fell back.",
                               ("intent", "fallback"), registry=registry)
        self.commands = Counter("chatbot_commands", "Chat commands used (/help, /image, /forecast...).",
                                ("command",), registry=registry)
        self.actions = Counter("chatbot_actions", "Dialogue actions run (reminders, weather, dates...).",
                               ("action",), registry=registry)
        # One series per worker (pid) in multiprocess mode: during a swap, workers may serve two versions.
        self.model = Gauge("chatbot_model_info", "The model served: 1 for its version (degraded: the stand-in).",
                           ("version", "degraded"), registry=registry, multiprocess_mode="liveall")
        self._served: Any = None
        self._model_labels: tuple[str, str] | None = None
        self.jobs = TrainingJobsCollector(app)
        registry.register(self.jobs)

    # --- feeding ---

    def observe_request(self, response: Response, seconds: float) -> None:
        """Count one answered request (``webui.observability.finish_request`` calls it)."""
        rule = request.url_rule
        self.latency.labels(request.method, rule.rule if rule is not None else UNMATCHED).observe(seconds)
        status = response.status_code
        if status >= 400:
            self.errors.labels(str(status), error_code(response)).inc()
        self.note_model()

    def observe_reply(self, reply: Any) -> None:
        """Count one chat reply: its intent and fallback, and the command or action that made it."""
        self.replies.labels(str(reply.intent or "none"), "true" if reply.fallback else "false").inc()
        source = str(getattr(reply, "source", "") or "")
        if source == "command":
            command = str(reply.intent or "unknown")
            self.commands.labels("unknown" if command == "command_unknown" else command).inc()
        elif source.startswith("action:"):
            self.actions.labels(source.split(":", 1)[1] or "unknown").inc()

    def note_model(self) -> None:
        """Keep ``chatbot_model_info`` on the model this process serves (a reference check per request)."""
        holder = self.app.extensions.get(HOLDER_KEY)
        served = holder.served if holder is not None else None
        if served is None or served is self._served:
            return
        self._served = served
        labels = (str(served.version or "none"), "true" if served.degraded else "false")
        if labels == self._model_labels:
            return
        if self._model_labels is not None:
            self.model.labels(*self._model_labels).set(0)
        self.model.labels(*labels).set(1)
        self._model_labels = labels

    # --- reading ---

    def exposition(self) -> bytes:
        """The metrics in Prometheus' text format: every worker's in multiprocess mode."""
        self.note_model()
        if multiprocess_dir() is None:
            return generate_latest(self.registry)
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        registry.register(self.jobs)
        return generate_latest(registry)


class TrainingJobsCollector(Collector):
    """The trainer console's jobs at scrape time: how many are in each state (the finished states are the
    jobs' outcomes) and how many are queued or running (the queue's depth)."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def describe(self) -> list:  # no samples at registration: the app may have no trainer folder yet
        return []

    def collect(self) -> Iterator[GaugeMetricFamily]:
        counts = dict.fromkeys(JOB_STATES, 0)
        try:
            with self.app.app_context():
                from webui.trainer.jobs import job_status
                from webui.trainer.storage import ids, trainer_dir

                root = trainer_dir() / "jobs"
                for job_id in ids("jobs"):
                    status = job_status(root / job_id)
                    counts[status] = counts.get(status, 0) + 1
        except Exception:  # a scrape must not fail for the trainer's files
            logger.warning("Metrics: could not read the training jobs", exc_info=True)
            return
        jobs = GaugeMetricFamily("chatbot_training_jobs", "Training jobs kept in TRAINER_DIR, by state.",
                                 labels=("state",))
        for state, count in counts.items():
            jobs.add_metric((state,), count)
        yield jobs
        yield GaugeMetricFamily("chatbot_training_jobs_active", "Training jobs queued or running.",
                                value=counts["queued"] + counts["running"])


def error_code(response: Response) -> str:
    """The machine code of an error response (``{"error": {"code"}}``), else ``http_<status>``."""
    if response.is_json and not response.is_streamed:
        body = response.get_json(silent=True)
        if isinstance(body, dict) and isinstance(body.get("error"), dict):
            code = body["error"].get("code")
            if isinstance(code, str) and code:
                return code[:64]
    return f"http_{response.status_code}"


def check_token() -> None:
    """With ``METRICS_TOKEN`` set, the request must carry it as a bearer token."""
    token = str(current_app.config["METRICS_TOKEN"] or "")
    if not token:
        return
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        raise ApiError(401, "metrics_token_required", TOKEN_MISSING)
    if not hmac.compare_digest(given.strip().encode(), token.encode()):
        raise ApiError(403, "metrics_token_wrong", TOKEN_WRONG)


def metrics_view() -> Response:
    """``GET /metrics``: the Prometheus text format."""
    check_token()
    body = current_app.extensions[METRICS_KEY].exposition()
    response = Response(body, mimetype=None, content_type=CONTENT_TYPE_LATEST)
    response.headers["Cache-Control"] = "no-store"
    return response


def init_app(app: Flask) -> None:
    """With ``METRICS`` on: attach the metrics (fed by ``webui.observability``'s hooks) and ``/metrics``."""
    if not app.config["METRICS"] or app.config["DATABASE_ONLY"]:
        return
    app.extensions[METRICS_KEY] = Metrics(app)
    app.add_url_rule("/metrics", "metrics", metrics_view, methods=["GET"])
    if not app.config["METRICS_TOKEN"]:
        logger.info("/metrics is open to anyone who can reach it: set METRICS_TOKEN, or keep it off the public "
                    "address")
