"""Hot reload of a rule-pack file: edits take effect, broken edits never do."""

import logging
import os
from pathlib import Path

from complaints.classifier.exceptions import RulePackError
from complaints.classifier.pack import RulePack, load_pack

log = logging.getLogger(__name__)


class PackReloader:
    """Holds the pack in force for one file and replaces it when the file changes.

    `maybe_reload()` costs one `stat` when nothing changed, so a stream agent can call
    it before every batch. When the new file is invalid the running pack stays in
    force and the error is kept in `last_error` (and logged once per file version).
    Meant for one asyncio task or thread; a reload blocks for the compile (~0.1 s).
    """

    def __init__(self, path: Path | str) -> None:
        """Load the pack now: a pipeline must not start without a valid one."""
        self.path = Path(path)
        self._seen = self._stamp()
        self._pack = load_pack(self.path)
        self.last_error: RulePackError | None = None

    def current(self) -> RulePack:
        """The pack in force."""
        return self._pack

    def maybe_reload(self) -> bool:
        """Reload if the file's mtime or size changed; True when a new pack took over."""
        stamp = self._stamp()
        if stamp == self._seen:
            return False
        self._seen = stamp
        return self._load()

    def reload(self) -> bool:
        """Reload now whether or not the file changed; True when a new pack took over."""
        self._seen = self._stamp()
        return self._load()

    def _load(self) -> bool:
        try:
            pack = load_pack(self.path)
        except RulePackError as error:
            self.last_error = error
            log.error(
                "rule pack %s refused, keeping version %s: %s", self.path, self._pack.version, error
            )
            return False
        self._pack, self.last_error = pack, None
        log.info("rule pack %s version %s loaded", self.path, pack.version)
        return True

    def _stamp(self) -> tuple[int, int] | None:
        """(mtime in ns, size), or None while the file is missing (mid-replace)."""
        try:
            stat = os.stat(self.path)
        except OSError:
            return None
        return stat.st_mtime_ns, stat.st_size
