"""The Kubernetes platform's errors: every failure of the API server or of a rollout is
translated into one of these at the client boundary (third-party exceptions never leak).

PlatformError (nfv.errors)
├── ClusterUnreachableError  no kubeconfig / in-cluster config, or the API server does not answer
├── ForbiddenError           RBAC said no (403): names the verb, resource and namespace
├── ApiError                 any other refusal (conflict, invalid object ...): status + message
└── NotReadyError (nfv.errors)
    ├── DeployTimeoutError   an NF did not become ready: carries the NF and a diagnosis
    └── RolloutFailedError   an upgrade did not finish (and was rolled back, says which)
CatalogError (nfv.errors)
└── UnknownNFError           a name that is not an NF of the deployed core
"""

from __future__ import annotations

from ...errors import CatalogError, NotReadyError, PlatformError


class ClusterUnreachableError(PlatformError):
    pass


class ForbiddenError(PlatformError):
    """RBAC refused a request; ``verb``, ``resource`` and ``namespace`` say which."""

    def __init__(self, message: str, *, verb: str, resource: str, namespace: str | None) -> None:
        super().__init__(message)
        self.verb, self.resource, self.namespace = verb, resource, namespace


class ApiError(PlatformError):
    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message)
        self.status = status


class UnknownNFError(CatalogError):
    pass


class DeployTimeoutError(NotReadyError):
    """*nf* was not ready in time; ``exit_code`` is the CLI exit status naming it and
    ``diagnosis`` the pods, events, container states and log lines that explain why."""

    def __init__(self, message: str, *, nf: str, exit_code: int, diagnosis: str) -> None:
        super().__init__(message)
        self.nf, self.exit_code, self.diagnosis = nf, exit_code, diagnosis


class RolloutFailedError(NotReadyError):
    def __init__(
        self, message: str, *, nf: str, exit_code: int, diagnosis: str, rolled_back: bool
    ) -> None:
        super().__init__(message)
        self.nf, self.exit_code, self.diagnosis = nf, exit_code, diagnosis
        self.rolled_back = rolled_back
