"""A thin, typed REST layer over the official ``kubernetes`` client: cluster selection as
kubectl does it, one request function, and the translation of every client or transport
failure into :mod:`.errors` (the only module that imports ``kubernetes`` and ``urllib3``).

Cluster selection (kubectl's order): an explicit kubeconfig file, else ``$KUBECONFIG``
(the first file of the list), else ``~/.kube/config``, else the in-cluster service account
(``KUBERNETES_SERVICE_HOST`` + the mounted token); ``context`` picks a kubeconfig context.

Objects are plain dicts (JSON), addressed through :data:`KINDS`: the kinds the chart renders
plus those the platform reads. Server-side apply is a PATCH with
``application/apply-patch+yaml`` (JSON is YAML) and a field manager.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import urllib3
from kubernetes import client as k8s_client
from kubernetes import config as k8s_config
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException

from .errors import ApiError, ClusterUnreachableError, ForbiddenError

# (connect, read) seconds for one API request; watches and log streams set their own.
REQUEST_TIMEOUT = (5.0, 30.0)
# urllib3 retries per request: one more try hides a dropped keep-alive connection, more
# would only delay the "cannot reach the API server" message.
RETRIES = 1
FIELD_MANAGER = "nfv"


@dataclass(frozen=True)
class Kind:
    kind: str
    api_version: str
    plural: str
    namespaced: bool = True

    def base(self) -> str:
        group = "/api" if "/" not in self.api_version else "/apis"
        return f"{group}/{self.api_version}"

    def path(self, namespace: str | None, name: str | None = None, sub: str = "") -> str:
        """The REST path; a namespaced collection without a namespace is across all."""
        path = self.base()
        if self.namespaced and namespace is not None:
            path += f"/namespaces/{namespace}"
        elif self.namespaced and name is not None:
            raise ValueError(f"{self.kind} is namespaced: a namespace is needed")
        path += f"/{self.plural}"
        if name is not None:
            path += f"/{name}"
        if sub:
            path += f"/{sub}"
        return path


KINDS: dict[str, Kind] = {
    k.kind: k
    for k in (
        Kind("Namespace", "v1", "namespaces", namespaced=False),
        Kind("Node", "v1", "nodes", namespaced=False),
        Kind("ServiceAccount", "v1", "serviceaccounts"),
        Kind("Secret", "v1", "secrets"),
        Kind("ConfigMap", "v1", "configmaps"),
        Kind("Service", "v1", "services"),
        Kind("Pod", "v1", "pods"),
        Kind("Event", "v1", "events"),
        Kind("EndpointSlice", "discovery.k8s.io/v1", "endpointslices"),
        Kind("StatefulSet", "apps/v1", "statefulsets"),
        Kind("Deployment", "apps/v1", "deployments"),
        Kind("ReplicaSet", "apps/v1", "replicasets"),
        Kind("HorizontalPodAutoscaler", "autoscaling/v2", "horizontalpodautoscalers"),
        Kind("PodDisruptionBudget", "policy/v1", "poddisruptionbudgets"),
        Kind("NetworkPolicy", "networking.k8s.io/v1", "networkpolicies"),
        Kind("PodMetrics", "metrics.k8s.io/v1beta1", "pods"),
    )
}
# The namespaced kinds nfv creates from the chart, in apply order (prune and destroy look
# for objects of ours among these).
OWNED_KINDS = (
    "ServiceAccount",
    "Secret",
    "ConfigMap",
    "Service",
    "StatefulSet",
    "Deployment",
    "HorizontalPodAutoscaler",
    "PodDisruptionBudget",
    "NetworkPolicy",
)
# HTTP method → the RBAC verb it needs (for the 403 message).
VERBS = {"GET": "get", "POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}


def kind_of(obj: dict[str, Any]) -> Kind:
    kind = KINDS.get(str(obj.get("kind")))
    if kind is None or kind.api_version != obj.get("apiVersion"):
        raise ApiError(
            f"nfv cannot handle {obj.get('apiVersion')}/{obj.get('kind')} objects", status=0
        )
    return kind


def _untyped(func: Any) -> Any:
    """A function of the (untyped) client, called from typed code."""
    return func


def _kubeconfig_file(explicit: str | Path | None) -> str | None:
    if explicit:
        return str(explicit)
    env = os.environ.get("KUBECONFIG", "")
    for part in env.split(os.pathsep):
        if part and Path(part).expanduser().exists():
            return str(Path(part).expanduser())
    default = Path("~/.kube/config").expanduser()
    return str(default) if default.exists() else None


class KubeApi:
    """Requests to one API server as one user (a kubeconfig context or the in-cluster
    service account). Raises ClusterUnreachableError, ForbiddenError or ApiError."""

    def __init__(self, *, context: str | None = None, kubeconfig: str | Path | None = None) -> None:
        configuration = k8s_client.Configuration()
        source = _kubeconfig_file(kubeconfig)
        try:
            if source is not None:
                if not Path(source).exists():
                    raise ClusterUnreachableError(f"kubeconfig {source} does not exist")
                _untyped(k8s_config.load_kube_config)(
                    config_file=source,
                    context=context,
                    client_configuration=configuration,
                    persist_config=False,
                )
                self.source = f"kubeconfig {source}" + (f", context {context}" if context else "")
            elif os.environ.get("KUBERNETES_SERVICE_HOST"):
                if context:
                    raise ClusterUnreachableError(
                        f"--context {context}: no kubeconfig (in-cluster config has no contexts)"
                    )
                _untyped(k8s_config.load_incluster_config)(client_configuration=configuration)
                self.source = "in-cluster service account"
            else:
                raise ClusterUnreachableError(
                    "no cluster configured: no --kubeconfig, no $KUBECONFIG, no ~/.kube/config "
                    "and not running in a pod"
                )
        except (ConfigException, OSError, ValueError, TypeError, KeyError) as exc:
            raise ClusterUnreachableError(
                f"cannot load the cluster configuration ({source or 'in-cluster'}): {exc}"
            ) from exc
        configuration.retries = RETRIES
        self.host: str = str(configuration.host)
        self.client = k8s_client.ApiClient(configuration)

    def close(self) -> None:
        _untyped(self.client.close)()

    @property
    def on_this_machine(self) -> bool:
        """Whether the API server listens on loopback (a cluster running on this machine,
        whose NodePorts are then reachable on 127.0.0.1)."""
        host = urlsplit(self.host).hostname or ""
        return host == "localhost" or host.startswith("127.") or host == "::1"

    # -- requests ----------------------------------------------------------------------------

    def _send(
        self,
        method: str,
        path: str,
        *,
        query: dict[str, Any] | None = None,
        body: Any = None,
        content_type: str | None = None,
        timeout: tuple[float, float] | None = REQUEST_TIMEOUT,
    ) -> Any:
        headers = {"Accept": "application/json"}
        if content_type:
            headers["Content-Type"] = content_type
        elif body is not None:
            headers["Content-Type"] = "application/json"
        params = [(k, v) for k, v in (query or {}).items() if v is not None]
        try:
            request = self.client.param_serialize(
                method,
                path,
                query_params=params or None,
                header_params=headers,
                body=body,
                auth_settings=["BearerToken"],
            )
            response = self.client.call_api(*request, _request_timeout=timeout)
        except ApiException as exc:  # TLS problems surface as status 0
            raise ClusterUnreachableError(
                f"cannot reach the Kubernetes API server at {self.host}: {exc.reason}"
            ) from exc
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            reason = getattr(exc, "reason", None) or exc
            raise ClusterUnreachableError(
                f"cannot reach the Kubernetes API server at {self.host} ({self.source}): {reason}"
            ) from exc
        return response

    def request(
        self,
        method: str,
        path: str,
        *,
        query: dict[str, Any] | None = None,
        body: Any = None,
        content_type: str | None = None,
        resource: str = "",
        namespace: str | None = None,
        verb: str | None = None,
    ) -> Any:
        """One request; the decoded JSON answer (None for an empty body). *verb*,
        *resource* and *namespace* name the request in a 403 message (default: from the
        method and path)."""
        response = self._send(method, path, query=query, body=body, content_type=content_type)
        try:
            data = response.read()
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise ClusterUnreachableError(
                f"the API server at {self.host} broke off an answer: {exc}"
            ) from exc
        if not 200 <= response.status <= 299:
            raise self._error(method, path, response.status, data, resource, namespace, verb)
        if not data:
            return None
        try:
            return json.loads(data)
        except ValueError as exc:
            raise ApiError(
                f"{method} {path}: the API server answered something that is not JSON",
                status=response.status,
            ) from exc

    def stream_lines(self, path: str, *, query: dict[str, Any] | None = None) -> Iterator[str]:
        """GET *path* and yield its body line by line as it arrives (pod logs with follow)."""
        response = self._send("GET", path, query=query, timeout=(5.0, None))  # type: ignore[arg-type]
        if not 200 <= response.status <= 299:
            raise self._error("GET", path, response.status, response.read(), "pods/log", None)
        raw = response.response
        try:
            buffer = b""
            for chunk in raw.stream(4096, decode_content=True):
                buffer += chunk
                *lines, buffer = buffer.split(b"\n")
                for line in lines:
                    yield line.decode("utf-8", "replace")
            if buffer:
                yield buffer.decode("utf-8", "replace")
        except (urllib3.exceptions.HTTPError, OSError):
            return  # the pod went away or the connection closed: the stream ends
        finally:
            raw.release_conn()

    def _error(
        self,
        method: str,
        path: str,
        status: int,
        data: bytes,
        resource: str,
        namespace: str | None,
        verb: str | None = None,
    ) -> Exception:
        try:
            body = json.loads(data) if data else {}
        except ValueError:
            body = {}
        message = body.get("message") if isinstance(body, dict) else None
        message = str(message or data[:300].decode("utf-8", "replace") or f"HTTP {status}")
        verb = verb or VERBS.get(method, method.lower())
        resource = resource or _resource_from_path(path)
        namespace = namespace if namespace is not None else _namespace_from_path(path)
        if status == 401:
            return ClusterUnreachableError(
                f"the API server at {self.host} does not accept our credentials "
                f"({self.source}): {message}"
            )
        if status == 403:
            where = f"in namespace {namespace!r}" if namespace else "at cluster scope"
            return ForbiddenError(
                f"forbidden: not allowed to {verb} {resource} {where} ({message})",
                verb=verb,
                resource=resource,
                namespace=namespace,
            )
        where = f" in namespace {namespace}" if namespace else ""
        return ApiError(f"{verb} {resource}{where} refused ({status}): {message}", status=status)

    # -- objects ---------------------------------------------------------------------------

    def get(self, kind: str, namespace: str | None, name: str) -> dict[str, Any] | None:
        """The object, or None when it does not exist."""
        try:
            obj: dict[str, Any] = self.request("GET", KINDS[kind].path(namespace, name))
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise
        return obj

    def list(
        self, kind: str, namespace: str | None, *, selector: str | None = None, **query: Any
    ) -> list[dict[str, Any]]:
        answer = self.request(
            "GET",
            KINDS[kind].path(namespace),
            query={"labelSelector": selector, **query},
            verb="list",
        )
        items: list[dict[str, Any]] = (answer or {}).get("items") or []
        for item in items:  # list items carry no kind/apiVersion of their own
            item.setdefault("kind", kind)
            item.setdefault("apiVersion", KINDS[kind].api_version)
        return items

    def apply(
        self, obj: dict[str, Any], *, force: bool = False, manager: str = FIELD_MANAGER
    ) -> dict[str, Any]:
        """Server-side apply of *obj* (its namespace from its metadata)."""
        kind = kind_of(obj)
        meta = obj["metadata"]
        ns = meta.get("namespace") if kind.namespaced else None
        answer: dict[str, Any] = self.request(
            "PATCH",
            kind.path(ns, meta["name"]),
            query={"fieldManager": manager, "force": "true" if force else None},
            body=obj,
            content_type="application/apply-patch+yaml",
            resource=kind.plural,
            namespace=ns,
        )
        return answer

    def patch(
        self,
        kind: str,
        namespace: str | None,
        name: str,
        body: dict[str, Any],
        *,
        sub: str = "",
        manager: str = FIELD_MANAGER,
    ) -> dict[str, Any]:
        """A JSON merge patch (RFC 7386) of an object or its subresource (``scale``)."""
        k = KINDS[kind]
        answer: dict[str, Any] = self.request(
            "PATCH",
            k.path(namespace, name, sub),
            query={"fieldManager": manager},
            body=body,
            content_type="application/merge-patch+json",
            resource=k.plural + (f"/{sub}" if sub else ""),
            namespace=namespace,
        )
        return answer

    def delete(self, kind: str, namespace: str | None, name: str) -> bool:
        """Delete with background propagation; False when it was already gone."""
        k = KINDS[kind]
        try:
            self.request(
                "DELETE",
                k.path(namespace, name),
                body={"propagationPolicy": "Background"},
                resource=k.plural,
                namespace=namespace,
            )
        except ApiError as exc:
            if exc.status == 404:
                return False
            raise
        return True

    def pod_log(
        self, namespace: str, pod: str, *, tail: int | None = None, previous: bool = False
    ) -> str:
        response = self._send(
            "GET",
            KINDS["Pod"].path(namespace, pod, "log"),
            query={
                "tailLines": tail,
                "previous": "true" if previous else None,
                "timestamps": "true",
            },
        )
        data = response.read()
        if not 200 <= response.status <= 299:
            raise self._error("GET", "", response.status, data, "pods/log", namespace)
        return str(data.decode("utf-8", "replace"))


def _resource_from_path(path: str) -> str:
    parts = [p for p in path.split("?")[0].split("/") if p]
    if "namespaces" in parts:
        i = parts.index("namespaces")
        rest = parts[i + 2 :] if len(parts) > i + 2 else parts[i : i + 1]
        return "/".join(rest[:1] + rest[2:3]) if rest else "namespaces"
    return parts[-1] if parts else "?"


def _namespace_from_path(path: str) -> str | None:
    parts = [p for p in path.split("/") if p]
    if "namespaces" in parts:
        i = parts.index("namespaces")
        if len(parts) > i + 2:
            return parts[i + 1]
    return None
