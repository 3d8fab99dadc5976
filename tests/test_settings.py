"""Settings come from the environment; secrets never show up in text."""

import pytest

from complaints.settings import ConfigurationError, load_settings


def test_operator_environment_names_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "k1:9092, k2:9092")
    monkeypatch.setenv("REDIS_URL", "redis://:hunter2@r:6379/0")
    monkeypatch.setenv("COMPLAINTS_TOPIC_PREFIX", "tenant-a")
    settings = load_settings()
    assert settings.bootstrap_list() == ["k1:9092", "k2:9092"]
    assert settings.topic_prefix == "tenant-a"
    assert not settings.embedded
    assert "hunter2" not in repr(settings) and "hunter2" not in str(settings)
    assert settings.redis_dsn() == "redis://:hunter2@r:6379/0"


def test_nothing_configured_means_embedded(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("KAFKA_BOOTSTRAP_SERVERS", "REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings()
    assert settings.embedded
    with pytest.raises(ConfigurationError, match="KAFKA_BOOTSTRAP_SERVERS"):
        settings.bootstrap_list()


def test_sasl_settings_and_password_file_reach_the_client_options(
    monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    (tmp_path / "kafka_sasl_password").write_text("s3cret")
    monkeypatch.setenv("COMPLAINTS_SECRETS_DIR", str(tmp_path))
    monkeypatch.setenv("KAFKA_SECURITY_PROTOCOL", "SASL_PLAINTEXT")
    monkeypatch.setenv("KAFKA_SASL_MECHANISM", "SCRAM-SHA-512")
    monkeypatch.setenv("KAFKA_SASL_USERNAME", "pipeline")
    options = load_settings().kafka_client_options()
    assert options["sasl_mechanism"] == "SCRAM-SHA-512"
    assert options["sasl_plain_username"] == "pipeline"
    assert options["sasl_plain_password"] == "s3cret"


def test_env_file_is_read_and_a_missing_one_is_a_clear_error(tmp_path) -> None:
    env_file = tmp_path / "pipeline.env"
    env_file.write_text("COMPLAINTS_PARTITIONS=12\n")
    assert load_settings(env_file).partitions == 12
    with pytest.raises(ConfigurationError, match="does not exist"):
        load_settings(tmp_path / "nope.env")
