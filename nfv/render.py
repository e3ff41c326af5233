"""Render NF config files from the Jinja chart (``charts/volte-core/config/``).

The NF config file is the contract between nfv and an NF process: the local platform writes
it to the state directory, the Docker platform mounts it, the Kubernetes chart puts it in a
ConfigMap — one template, ``charts/volte-core/config/<nf>.yaml.j2``, for all of them.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import jinja2
import yaml

from .catalog import Catalog, NFDescriptor
from .errors import RenderError
from .values import CHART_ROOT


@functools.cache
def _environment(chart: Path) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(chart / "config")),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )
    # A value as JSON, which is YAML: config templates never hand-quote a string.
    env.filters["json"] = _json
    return env


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=True)


def render_nf_config(
    nf: NFDescriptor,
    catalog: Catalog,
    values: dict[str, Any],
    *,
    subscribers_file: str = "",
    chart: Path = CHART_ROOT,
) -> str:
    """Render one NF's config file; raises RenderError naming the template and problem."""
    name = f"{nf.name}.yaml.j2"
    try:
        template = _environment(chart).get_template(name)
        text = template.render(
            nf=nf,
            peers={n: catalog[n] for n in catalog},
            values=values,
            subscribers_file=subscribers_file,
        )
    except jinja2.TemplateNotFound as exc:
        raise RenderError(
            f"NF {nf.name!r} has no config template {chart / 'config' / name}"
        ) from exc
    except jinja2.TemplateError as exc:
        raise RenderError(f"{name}: {exc}") from exc
    try:
        yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as exc:
        raise RenderError(f"{name} rendered invalid YAML: {exc}") from exc
    return text


def expand_subscribers(values: dict[str, Any]) -> list[dict[str, str]]:
    """Expand the values' subscriber ranges into one record per subscriber."""
    out: list[dict[str, str]] = []
    for rng in values.get("subscribers", []):
        imsi0, msisdn0 = int(rng["imsi_start"]), int(rng["msisdn_start"])
        width_i, width_m = len(rng["imsi_start"]), len(rng["msisdn_start"])
        for i in range(int(rng["count"])):
            imsi = str(imsi0 + i).zfill(width_i)
            msisdn = str(msisdn0 + i).zfill(width_m)
            rec = {"imsi": imsi, "msisdn": msisdn, "k": rng["k"], "opc": rng["opc"]}
            if rng.get("password"):
                rec["password"] = str(rng["password"]).format(imsi=imsi, msisdn=msisdn)
            out.append(rec)
    return out
