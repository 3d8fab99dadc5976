"""docker-compose.yml and the Dockerfile describe the production-shaped stack."""

import yaml

from tests.harness import REPO


def test_compose_runs_kraft_kafka_redis_and_two_workers_from_the_repo_dockerfile() -> None:
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    services = compose["services"]
    kafka = services["kafka"]
    assert kafka["image"].startswith("apache/kafka:")
    assert "controller" in kafka["environment"]["KAFKA_PROCESS_ROLES"]
    assert services["redis"]["image"].startswith("redis:")
    workers = [s for name, s in services.items() if name.startswith("worker")]
    assert len(workers) == 2
    for worker in workers:
        assert worker["build"] == "."
        assert worker["command"] == ["worker"]
        env = worker["environment"]
        assert env["KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092"
        assert env["REDIS_URL"].startswith("redis://redis:")
        assert set(worker["depends_on"]) == {"kafka", "redis"}
    assert len({w["image"] for w in workers}) == 1


def test_dockerfile_installs_the_package_and_runs_a_worker() -> None:
    dockerfile = (REPO / "Dockerfile").read_text()
    assert "pip install ." in dockerfile
    assert 'ENTRYPOINT ["complaints"]' in dockerfile
    assert 'CMD ["worker"]' in dockerfile


def test_every_python_package_of_the_repo_is_installed() -> None:
    import tomllib

    listed = set(tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"][
        "packages"])
    found = {".".join(init.parent.relative_to(REPO).parts)
             for init in (REPO / "complaints").rglob("__init__.py")}
    assert found | {"complaints_bench"} == listed
