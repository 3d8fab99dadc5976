"""Wiring: the Faust app, its topics and the stages attached to them — in one place.

Read top to bottom: settings → app → topics → shared resources → stages.
"""

import gc
import logging
from datetime import timedelta

import faust
from aiokafka import AIOKafkaClient

from complaints.agents import intake, recovery
from complaints.classifier import PackReloader, default_pack_path
from complaints.ops import readiness, web
from complaints.ops.overview import overview
from complaints.pipeline import faust_tuning
from complaints.recovery import RecoveryRules
from complaints.routing import load_table
from complaints.schemas.topics import Topics
from complaints.settings import Settings
from complaints.stages.intake import IntakeDeps
from complaints.stages.metrics import RULE_PACK_INFO
from complaints.stages.recovery import RecoveryDeps
from complaints.stages.route import RouteDeps
from complaints.store import redis as store
from complaints.store.cases import CaseStore
from complaints.store.clock import RedisClock, SystemClock
from complaints.store.counters import RecentCases, StageCounters
from complaints.store.seen import SeenEvents

log = logging.getLogger(__name__)


def faust_broker_options(settings: Settings) -> dict[str, object]:
    """Broker URLs and credentials in Faust's spelling."""
    options: dict[str, object] = {
        "broker": [f"kafka://{server}" for server in settings.bootstrap_list()],
    }
    client = settings.kafka_client_options()
    if settings.kafka_security_protocol.startswith("SASL"):
        options["broker_credentials"] = faust.SASLCredentials(
            username=str(client["sasl_plain_username"]),
            password=str(client["sasl_plain_password"]),
            mechanism=settings.kafka_sasl_mechanism,
            ssl_context=client.get("ssl_context"),
        )
    elif settings.kafka_security_protocol == "SSL":
        options["broker_credentials"] = client["ssl_context"]
    return options


def build_app(settings: Settings) -> faust.App:
    """A ready-to-run Faust app for one worker process."""
    app = faust.App(
        settings.app_id,
        **faust_broker_options(settings),
        store="memory://",
        datadir=str(settings.data_dir),
        topic_partitions=settings.partitions,
        topic_replication_factor=settings.replication_factor,
        topic_allow_declare=True,
        broker_session_timeout=settings.session_timeout_s,
        broker_heartbeat_interval=min(3.0, settings.session_timeout_s / 4),
        broker_commit_interval=1.0,
        consumer_auto_offset_reset="earliest",
        producer_acks=-1,
        producer_linger_ms=5,
        producer_max_batch_size=faust_tuning.PRODUCER_MAX_BATCH_BYTES,  # fewer requests
        web_enabled=settings.web_port != 0,
        web_port=settings.web_port or 6066,
        web_bind=settings.web_host,
        web_host=settings.web_host,
    )
    outbound = faust_tuning.apply(app, settings)
    names = Topics.for_prefix(settings.topic_prefix)

    def raw_topic(*topic_names: str) -> faust.TopicT:
        return app.topic(*topic_names, key_type=bytes, value_type=bytes,
                         key_serializer="raw", value_serializer="raw",
                         partitions=settings.partitions)

    outputs = {name: raw_topic(name) for name in names.all()}

    @app.task
    async def declare_topics() -> None:
        """Create every topic up front, so downstream consumers can subscribe at once."""
        for topic in outputs.values():
            await topic.maybe_declare()

    redis = store.connect(settings.redis_dsn())
    routing = RouteDeps(redis=redis, prefix=settings.topic_prefix,
                        table=load_table(settings.routes_path))
    if settings.runs("intake"):
        reloader = PackReloader(settings.rules_path or default_pack_path())
        RULE_PACK_INFO.info({"version": reloader.current().version})
        intake.attach(app, raw_topic(names.intake_callcenter, names.intake_web), IntakeDeps(
            classified=names.classified,
            routed=names.routed,
            dead_letter=names.dead_letter,
            source_by_topic=names.intake(),
            seen=SeenEvents(redis, settings.topic_prefix, settings.dedup_ttl_s),
            counters=StageCounters(redis, settings.topic_prefix),
            reloader=reloader,
            route=routing,
            recent=RecentCases(redis, settings.topic_prefix),
            outbound=outbound,
            mask_outbound_pii=settings.mask_outbound_pii,
            time_window=timedelta(days=settings.event_time_window_days),
        ), batch_size=settings.batch_size, batch_window_s=settings.batch_window_s)
    if settings.runs("recovery"):
        recovery.attach(app, outputs[names.routed], outputs[names.actions], RecoveryDeps(
            case_events=names.case_events,
            resolutions=names.resolutions,
            dead_letter=names.dead_letter,
            store=CaseStore(redis, settings.topic_prefix),
            queues=routing.queues,
            incidents=routing.incidents,
            rules=RecoveryRules.load(settings.lifecycle_path, settings.sla_path),
            routes=routing.table,
            clock=RedisClock(redis, settings.topic_prefix) if settings.clock == "redis"
            else SystemClock(),
            outbound=outbound,
        ), batch_size=settings.batch_size, batch_window_s=settings.batch_window_s)

    @app.task
    async def settle() -> None:
        settle_garbage_collector()

    async def kafka_client() -> AIOKafkaClient:
        return (await outbound()).producer.client

    async def redis_answers() -> bool:
        return bool(await redis.ping())

    web.attach_web(app, settings, overview=lambda: overview(redis, settings),
                   queue_stats=routing.queues.stats,
                   ready_checks=[redis_answers, readiness.broker_check(kafka_client)])
    return app


def settle_garbage_collector() -> None:
    """Stop Python's cycle collector re-scanning the worker's long-lived objects.

    Everything allocated while the worker starts (rule pack, dictionaries, models, Faust)
    lives as long as the process; `gc.freeze` takes it out of every later collection,
    and a larger first-generation threshold makes collections of each batch's garbage
    rarer (what each saves: docs/benchmarks.md, "Figures behind the code").
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(_GC_GEN0_THRESHOLD, *gc.get_threshold()[1:])


_GC_GEN0_THRESHOLD = 100_000
