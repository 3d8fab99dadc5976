# One pipeline worker. Build: docker build -t complaint-pipeline .
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY complaints ./complaints
# `complaints bench` ships with the package (as complaints_bench), so the image has it.
COPY bench ./bench
RUN pip install . && useradd --create-home --uid 10001 complaints
USER complaints
EXPOSE 6066
ENTRYPOINT ["complaints"]
CMD ["worker"]
