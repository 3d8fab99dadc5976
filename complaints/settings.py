"""One settings object, read from the environment, an optional env file and secret files.

Kafka and Redis use the names operators already know (`KAFKA_BOOTSTRAP_SERVERS`,
`REDIS_URL`); everything else is prefixed `COMPLAINTS_`. When neither Kafka nor Redis
is configured, `complaints run` starts embedded ones. Passwords are `SecretStr`, so they
never appear in a log line or a repr; they may also come from files in
`COMPLAINTS_SECRETS_DIR` (one file per setting, Docker/Kubernetes secrets style).
"""

import os
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from complaints.schemas.intake import EVENT_TIME_WINDOW

#: Consumer fetch wait (ms): low enough for the embedded broker's latency, harmless on Kafka.
DEFAULT_FETCH_MAX_WAIT_MS = 50


def _env(name: str) -> AliasChoices:
    return AliasChoices(name, f"COMPLAINTS_{name}")


class Settings(BaseSettings):
    """Everything a worker or a command needs to know about its surroundings."""

    model_config = SettingsConfigDict(
        env_prefix="COMPLAINTS_", extra="ignore", populate_by_name=True, frozen=True
    )

    kafka_bootstrap_servers: str | None = Field(
        default=None, validation_alias=_env("KAFKA_BOOTSTRAP_SERVERS"),
        description="host:port[,host:port…] of the Kafka cluster.",
    )
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = Field(
        default="PLAINTEXT", validation_alias=_env("KAFKA_SECURITY_PROTOCOL")
    )
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = Field(
        default="PLAIN", validation_alias=_env("KAFKA_SASL_MECHANISM")
    )
    kafka_sasl_username: str | None = Field(
        default=None, validation_alias=_env("KAFKA_SASL_USERNAME")
    )
    kafka_sasl_password: SecretStr | None = Field(
        default=None, validation_alias=_env("KAFKA_SASL_PASSWORD")
    )
    kafka_ssl_cafile: Path | None = Field(default=None, validation_alias=_env("KAFKA_SSL_CAFILE"))
    kafka_ssl_certfile: Path | None = Field(
        default=None, validation_alias=_env("KAFKA_SSL_CERTFILE")
    )
    kafka_ssl_keyfile: Path | None = Field(
        default=None, validation_alias=_env("KAFKA_SSL_KEYFILE")
    )
    redis_url: SecretStr | None = Field(
        default=None, validation_alias=_env("REDIS_URL"),
        description="redis:// or rediss:// URL; may carry a password, hence secret.",
    )

    topic_prefix: str = Field(default="complaints", pattern=r"^[A-Za-z0-9._-]{1,100}$")
    partitions: int = Field(default=4, ge=1, le=1000)
    replication_factor: int = Field(default=1, ge=1, le=10)
    app_id: str = Field(default="complaints-pipeline", description="Consumer group id.")
    stages: Literal["all", "intake", "recovery"] = Field(
        default="all",
        description="What this worker runs: `intake` (intake, classification, routing), "
        "`recovery` (cases, handler actions, deadlines) or `all`. Workers of one "
        "deployment share the consumer group; each topic's partitions go to the workers "
        "that run its stage, so each stage scales with its own number of workers.",
    )
    session_timeout_s: float = Field(
        default=10.0, gt=1, description="Kafka group session timeout: failover speed."
    )
    batch_size: int = Field(default=500, ge=1, le=10_000)
    batch_window_s: float = Field(default=0.02, gt=0, le=5)
    fetch_max_wait_ms: int = Field(
        default=DEFAULT_FETCH_MAX_WAIT_MS, ge=1, le=30_000,
        description="Longest a consumer fetch waits at the broker for new data. Kafka "
        "answers as soon as data arrives, so this only bounds idle polling; brokers that "
        "answer only when it expires (the embedded Tansu) add up to this much latency.",
    )
    dedup_ttl_s: int = Field(
        default=14 * 24 * 3600, ge=60, description="How long event ids are remembered."
    )
    faust_tuning: bool = Field(
        default=True,
        description="Reach into Faust's and aiokafka's internals where that pays "
        "(`pipeline/faust_tuning.py`); false: the libraries' own behaviour throughout.",
    )
    event_time_window_days: int = Field(
        default=EVENT_TIME_WINDOW.days, ge=1, le=3_660_000,
        description="How far from now an event's `occurred_at` may lie, either way; "
        "further is dead-lettered as `invalid_value`.",
    )

    rules_path: Path | None = Field(default=None, description="Your rule pack (YAML).")
    routes_path: Path | None = Field(default=None, description="Your routing table (YAML).")
    sla_path: Path | None = Field(default=None, description="Your SLA policies (YAML).")
    lifecycle_path: Path | None = Field(
        default=None, description="Your case lifecycle table (YAML)."
    )
    clock: Literal["system", "redis"] = Field(
        default="system",
        description="`redis`: the recovery stage reads the time from `{prefix}:clock` when "
        "set (tests and demos move time forward); never in production.",
    )

    mask_outbound_pii: bool = Field(
        default=False,
        description="Mask phone and ID-card numbers in the complaints the pipeline "
        "publishes (they are always masked in logs).",
    )
    web_port: int = Field(default=6066, ge=0, le=65535)
    web_host: str = Field(default="127.0.0.1")
    log_level: Literal["debug", "info", "warn", "error"] = "info"
    log_json: bool = Field(default=False, description="Structured JSON logs.")
    cli_timeout_s: float = Field(
        default=10.0, gt=0, le=3600,
        description="How long a command waits for Redis or Kafka to answer before it says "
        "so in one line and exits 2 (the workers wait outages out instead).",
    )
    data_dir: Path = Field(
        default=Path(os.environ.get("TMPDIR", "/tmp")) / "complaints-data",
        description="Scratch space of a worker (Faust's table state).",
    )

    @field_validator("kafka_bootstrap_servers", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        return value or None

    @property
    def embedded(self) -> bool:
        """True when neither Kafka nor Redis is configured: `run` starts its own."""
        return self.kafka_bootstrap_servers is None and self.redis_url is None

    def runs(self, stage: Literal["intake", "recovery"]) -> bool:
        """Whether this worker runs `stage`."""
        return self.stages in ("all", stage)

    def bootstrap_list(self) -> list[str]:
        """Bootstrap servers as a list, or an error that says what to set."""
        if not self.kafka_bootstrap_servers:
            raise ConfigurationError(
                "KAFKA_BOOTSTRAP_SERVERS is not set; export it (e.g. localhost:9092) "
                "or use `complaints run` for the embedded broker"
            )
        return [s.strip() for s in self.kafka_bootstrap_servers.split(",") if s.strip()]

    def redis_dsn(self) -> str:
        """The Redis URL, or an error that says what to set."""
        if self.redis_url is None:
            raise ConfigurationError(
                "REDIS_URL is not set; export it (e.g. redis://localhost:6379/0) "
                "or use `complaints run` for the embedded Redis"
            )
        return self.redis_url.get_secret_value()

    def kafka_client_options(self) -> dict[str, object]:
        """Security options in aiokafka/kafka-python spelling (both use the same names)."""
        options: dict[str, object] = {"security_protocol": self.kafka_security_protocol}
        if self.kafka_security_protocol.startswith("SASL"):
            options["sasl_mechanism"] = self.kafka_sasl_mechanism
            options["sasl_plain_username"] = self.kafka_sasl_username
            options["sasl_plain_password"] = (
                self.kafka_sasl_password.get_secret_value() if self.kafka_sasl_password else None
            )
        if self.kafka_security_protocol.endswith("SSL"):
            import ssl

            context = ssl.create_default_context(
                cafile=str(self.kafka_ssl_cafile) if self.kafka_ssl_cafile else None
            )
            if self.kafka_ssl_certfile:
                context.load_cert_chain(
                    str(self.kafka_ssl_certfile),
                    str(self.kafka_ssl_keyfile) if self.kafka_ssl_keyfile else None,
                )
            options["ssl_context"] = context
        return options


class ConfigurationError(Exception):
    """A setting is missing or wrong; the message says which and how to fix it."""


def load_settings(env_file: Path | None = None, **overrides: object) -> Settings:
    """Settings from the environment, `env_file` (or `COMPLAINTS_ENV_FILE`) and secrets."""
    env_file = env_file or (Path(p) if (p := os.environ.get("COMPLAINTS_ENV_FILE")) else None)
    if env_file is not None and not env_file.is_file():
        raise ConfigurationError(f"settings file {env_file} does not exist")
    secrets_dir = os.environ.get("COMPLAINTS_SECRETS_DIR")
    return Settings(
        _env_file=env_file,  # type: ignore[call-arg]
        _secrets_dir=secrets_dir,  # type: ignore[call-arg]
        **overrides,
    )
