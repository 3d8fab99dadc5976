"""Errors of the recovery package: data files that cannot be used."""


class RecoveryConfigError(ValueError):
    """A lifecycle or SLA file that cannot be used; one line per problem.

    Raised on load, before any case is touched, and naming file, row and field:
    `lifecycle.yaml: transitions[5] (fixed --compensate--> compensated): guards: unknown guard …`.
    """


class LifecycleError(RecoveryConfigError):
    """`lifecycle.yaml` is invalid."""


class SlaPolicyError(RecoveryConfigError):
    """`sla.yaml` is invalid."""
