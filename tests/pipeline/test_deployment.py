"""docker-compose.yml and the Dockerfile describe the production-shaped stack."""

import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

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


def _copied_by_dockerfile(into: Path) -> None:
    """Copy exactly what the Dockerfile's COPY lines copy, as `docker build` would."""
    for line in (REPO / "Dockerfile").read_text().splitlines():
        words = line.split()
        if not words or words[0] != "COPY":
            continue
        *sources, target = words[1:]
        for source in sources:
            origin = REPO / source
            destination = into / target / (origin.name if target.endswith("/") else "")
            if origin.is_dir():
                shutil.copytree(origin, destination, ignore=shutil.ignore_patterns(
                    "__pycache__", "*.pyc"))
            else:
                destination.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(origin, destination)


def test_the_image_build_installs_from_exactly_the_files_the_dockerfile_copies(
    tmp_path: Path,
) -> None:
    """`pip install .` as the image runs it, on the files its COPY lines bring in: a
    wheel is built from them and installed into a fresh venv, whose `complaints` command
    starts and finds its data files (no Docker needed)."""
    context = tmp_path / "app"
    _copied_by_dockerfile(context)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                    "--wheel-dir", str(tmp_path / "dist"),
                    str(context)], check=True, timeout=300)
    fresh = tmp_path / "venv"
    venv.create(fresh, with_pip=True)
    python = fresh / "bin" / "python"
    wheel = next((tmp_path / "dist").glob("*.whl"))
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--no-deps",
                    "--no-index", str(wheel)], check=True, timeout=300)
    # The dependencies come from this environment's site-packages (not the project).
    env = {**os.environ, "PYTHONPATH": sysconfig.get_paths()["purelib"]}
    checks = ("import complaints.cli.main, complaints.pipeline.app, complaints_bench.e2e; "
              "from complaints.classifier import load_default_pack; load_default_pack(); "
              "from complaints.routing import load_table; load_table(None); "
              "from complaints.store.redis import lua_script; "
              "import complaints, pathlib; "
              "assert 'site-packages' in complaints.__file__, complaints.__file__; "
              "assert (pathlib.Path(complaints.__file__).parent / 'ops' / "
              "'dashboard.html').exists()")
    subprocess.run([str(python), "-c", checks], check=True, env=env, timeout=120,
                   cwd=tmp_path)
    usage = subprocess.run([str(fresh / "bin" / "complaints"), "--help"], env=env,
                           capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert usage.returncode == 0, usage.stderr
    assert "worker" in usage.stdout
