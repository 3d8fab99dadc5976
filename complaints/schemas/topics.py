"""Topic names: the pipeline's public contract with upstream and downstream systems.

Every name is `<prefix>.<name>.v<version>`; the prefix is configurable so several
tenants or environments can share a cluster.
"""

from dataclasses import dataclass, fields


@dataclass(frozen=True)
class Topics:
    """The names of every topic of the architecture, for one prefix."""

    intake_callcenter: str
    intake_web: str
    dead_letter: str
    classified: str
    routed: str
    actions: str
    case_events: str
    resolutions: str

    @classmethod
    def for_prefix(cls, prefix: str = "complaints") -> "Topics":
        return cls(
            intake_callcenter=f"{prefix}.intake.callcenter.v1",
            intake_web=f"{prefix}.intake.web.v1",
            dead_letter=f"{prefix}.dlq.v1",
            classified=f"{prefix}.classified.v1",
            routed=f"{prefix}.routed.v1",
            actions=f"{prefix}.actions.v1",
            case_events=f"{prefix}.case-events.v1",
            resolutions=f"{prefix}.resolutions.v1",
        )

    def all(self) -> list[str]:
        """Every topic name, in data-flow order."""
        return [getattr(self, f.name) for f in fields(self)]

    def intake(self) -> dict[str, str]:
        """Intake topic name → the source it carries (`callcenter` or `web`)."""
        return {self.intake_callcenter: "callcenter", self.intake_web: "web"}
