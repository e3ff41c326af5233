"""The experiment's pictures and its self-contained HTML report (matplotlib, Agg backend).

``timeline.png``: three panels on one shared time axis — load (users, offered and achieved
procedures/s, failures, the traffic model's offered REGISTER/s and calls/s), replicas
(desired and ready per watched NF, with CPU) and latency (p50/p95/p99 of all procedures,
the call-setup p95 over the SLO window, the SLO line; seconds over the SLO shaded).
``capacity.png``: throughput within the SLO against ready replicas, per watched NF, with
the 0.8·N linear-scaling line from one replica's figure. ``report.html`` embeds both (base64)
with the figures and the plan.
"""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path
from typing import Any

from .plan import Plan


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _series(rows: list[dict[str, Any]], key: str) -> list[float]:
    return [float("nan") if r.get(key) is None else float(r[key]) for r in rows]


def plot_timeline(path: Path, plan: Plan, rows: list[dict[str, Any]]) -> None:
    plt = _pyplot()
    t = [r["t"] for r in rows]
    fig, (ax_load, ax_rep, ax_lat) = plt.subplots(3, 1, sharex=True, figsize=(11, 9))
    ax_load.plot(t, _series(rows, "offered_per_s"), label="offered (started/s)", lw=1)
    ax_load.plot(t, _series(rows, "achieved_per_s"), label="achieved (ok/s)", lw=1)
    ax_load.plot(t, _series(rows, "failed_per_s"), label="failed/s", lw=1, color="red")
    ax_load.plot(t, _series(rows, "model_register_per_s"), "--", label="model REGISTER/s", lw=1)
    ax_load.plot(t, _series(rows, "model_calls_per_s"), "--", label="model calls/s", lw=1)
    ax_load.set_ylabel("procedures / s")
    users_ax = ax_load.twinx()
    users_ax.plot(t, _series(rows, "users"), color="grey", lw=1.5, label="users")
    users_ax.set_ylabel("Locust users (2 subscribers each)")
    lines = ax_load.get_legend_handles_labels()
    more = users_ax.get_legend_handles_labels()
    ax_load.legend(lines[0] + more[0], lines[1] + more[1], loc="upper left", fontsize=8)
    ax_load.set_title(f"{plan.name}: load, replicas and latency")

    cpu_ax = ax_rep.twinx()
    for nf in plan.watch:
        (line,) = ax_rep.step(t, _series(rows, f"{nf}_ready"), where="post", label=f"{nf} ready")
        ax_rep.step(
            t,
            _series(rows, f"{nf}_desired"),
            where="post",
            ls=":",
            color=line.get_color(),
            label=f"{nf} desired",
        )
        cpu_ax.plot(
            t, _series(rows, f"{nf}_cpu_percent"), color=line.get_color(), alpha=0.3, lw=0.8
        )
    cpu_ax.plot(t, _series(rows, "loadgen_cpu_percent"), color="grey", alpha=0.4, lw=0.8, ls="--")
    ax_rep.set_ylabel("replicas")
    cpu_ax.set_ylabel("CPU % of one core (faint; grey: Locust)")
    ax_rep.legend(loc="upper left", fontsize=8, ncol=2)

    ax_lat.plot(t, _series(rows, "p50_ms"), label="p50 (all)", lw=1)
    ax_lat.plot(t, _series(rows, "p95_ms"), label="p95 (all)", lw=1)
    ax_lat.plot(t, _series(rows, "p99_ms"), label="p99 (all)", lw=1)
    ax_lat.plot(
        t,
        _series(rows, "window_call_setup_p95_ms"),
        label=f"call setup p95 ({plan.slo.window_seconds} s window)",
        lw=1.5,
        color="black",
    )
    ax_lat.axhline(plan.slo.call_setup_p95_ms, color="red", ls="--", lw=1, label="SLO")
    for r in rows:
        if r["over_slo"]:
            for ax in (ax_load, ax_rep, ax_lat):
                ax.axvspan(r["t"], r["t"] + 1, color="red", alpha=0.08, lw=0)
    ax_lat.set_yscale("symlog", linthresh=10)
    ax_lat.set_ylabel("latency ms")
    ax_lat.set_xlabel("seconds since the load started")
    ax_lat.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def plot_capacity(path: Path, plan: Plan, figures: dict[str, Any]) -> None:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    top = 1
    for nf, by in figures["capacity_by_replicas"].items():
        if not by:
            continue
        xs = [int(k) for k in by]
        ys = [by[k] for k in by]
        top = max(top, *xs)
        ax.plot(xs, ys, "o-", label=f"{nf}: best second within SLO")
        if "1" in by:
            ax.plot(
                range(1, top + 1),
                [0.8 * n * by["1"] for n in range(1, top + 1)],
                ":",
                alpha=0.5,
                label=f"{nf}: 0.8·N x 1-replica figure",
            )
    ax.set_xlabel("ready replicas")
    ax.set_ylabel("finished procedures / s")
    ax.set_xticks(range(1, top + 1))
    ax.set_title("throughput within the SLO vs replicas")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def _img(path: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode()
    return f'<img alt="{html.escape(path.name)}" src="data:image/png;base64,{data}">'


def write_report(
    out: Path, plan: Plan, rows: list[dict[str, Any]], results: dict[str, Any]
) -> None:
    figures = results["figures"]
    plot_timeline(out / "timeline.png", plan, rows)
    plot_capacity(out / "capacity.png", plan, figures)
    f = figures
    rs = f["replica_seconds"]
    reg = f["registrations"]
    offered = results["offered_at_peak"]
    items = [
        ("duration", f"{f['duration_s']} s, peak {f['peak_users']} users"),
        (
            "offered at peak (traffic model)",
            f"{offered['population']:.0f} subscribers: {offered['register_per_s']:.1f} "
            f"REGISTER/s, {offered['calls_per_s']:.2f} calls/s, {offered['erlangs']:.1f} E",
        ),
        ("peak achieved", f"{f['peak_achieved_per_s']} procedures/s"),
        (
            "failed procedures",
            f"{f['procedures']['failed']} of {f['procedures']['finished']} "
            f"({f['procedures']['failure_ratio'] * 100:.3f} %)",
        ),
        ("max replicas", ", ".join(f"{k} {v}" for k, v in f["max_replicas"].items())),
        (
            "scale-out reaction (desired → ready)",
            f"max {f['scale_out_reaction_s']['max']} s, mean {f['scale_out_reaction_s']['mean']} s"
            f" over {len(f['scale_out_events'])} scale-out(s)",
        ),
        (
            "time over SLO",
            f"{f['time_over_slo_s']} s in {len(f['slo_episodes'])} episode(s); longest "
            f"(time to capacity restored) {f['longest_slo_episode_s']} s",
        ),
        (
            "registrations across scale-in (generator / core)",
            f"before {reg.get('before')}, at the end {reg['after']}; lost {reg['lost']}",
        ),
        (
            "replica-seconds",
            f"{rs['used_total']} used vs {rs['static_peak_total']} for a static peak "
            f"deployment (saving {rs['saving']})",
        ),
    ]
    table = "\n".join(
        f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>" for k, v in items
    )
    procs = figures["procedures"]["by_procedure"]
    proc_rows = "\n".join(
        f"<tr><td>{html.escape(n)}</td><td>{s['count']}</td><td>{s['failures']}</td>"
        f"<td>{s['p50_ms']}</td><td>{s['p95_ms']}</td><td>{s['p99_ms']}</td>"
        f"<td>{html.escape(json.dumps(s['failure_reasons']))}</td></tr>"
        for n, s in procs.items()
    )
    page = f"""<!doctype html>
<html><head><meta charset="utf-8"><title>{html.escape(plan.name)}: nfv experiment</title>
<style>body{{font-family:sans-serif;max-width:1000px;margin:auto}}
table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:3px 8px;text-align:left}}
img{{max-width:100%}}pre{{background:#f4f4f4;padding:8px;overflow:auto}}</style></head>
<body>
<h1>{html.escape(plan.name)}</h1>
<p>{html.escape(plan.description)}</p>
<table>{table}</table>
<h2>Timeline</h2>{_img(out / "timeline.png")}
<h2>Capacity vs replicas</h2>{_img(out / "capacity.png")}
<h2>Procedures</h2>
<table><tr><th>procedure</th><th>count</th><th>failed</th><th>p50 ms</th><th>p95 ms</th>
<th>p99 ms</th><th>failure reasons</th></tr>
{proc_rows}</table>
<h2>Figures (results.json)</h2><pre>{html.escape(json.dumps(figures, indent=2))}</pre>
<h2>Plan</h2><pre>{html.escape(json.dumps(results["plan"], indent=2))}</pre>
</body></html>
"""
    (out / "report.html").write_text(page)
