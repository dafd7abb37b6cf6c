"""Reports of a benchmark document: ratios, a terminal (or Markdown) table, JSON, a plot."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

__all__ = ["compute_ratios", "format_report", "write_json", "write_plot"]

BASELINE = ("torch", "cpu", "fp32")


def _ok(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for r in document["results"] if r["status"] == "ok"]


def _rtf(result: dict[str, Any], kind: str = "medium") -> float | None:
    return result.get("metrics", {}).get(f"rtf_{kind}", {}).get("rtf", {}).get("median")


def compute_ratios(document: dict[str, Any]) -> list[dict[str, Any]]:
    """For each of our configurations that ran: speed-up factors on each text kind.

    ``vs_torch_eager``: torch/cpu/fp32 RTF on the same voice / this RTF. ``vs_<peer>``: the
    peer's RTF on the same English text / this RTF (English voices only). Above 1 means this
    configuration is faster.
    """
    ok = _ok(document)
    peers = {r["config"]["backend"]: r for r in ok if r["config"]["kind"] == "peer"}
    baselines = {r["config"]["voice_label"]: r for r in ok if r["config"]["kind"] == "ttsengine"
                 and (r["config"]["backend"], r["config"]["device"], r["config"]["precision"]) == BASELINE}
    rows = []
    for result in ok:
        config = result["config"]
        if config["kind"] != "ttsengine":
            continue
        row: dict[str, Any] = {"config": config["id"], "voice": config["voice_label"]}
        for kind in ("short", "medium", "long"):
            ours = _rtf(result, kind)
            if not ours:
                continue
            ratios: dict[str, float] = {}
            base = baselines.get(config["voice_label"])
            if base is not None and _rtf(base, kind):
                ratios["vs_torch_eager"] = _rtf(base, kind) / ours
            if config["language"] == "en":
                for name, peer in peers.items():
                    if _rtf(peer, kind):
                        ratios[f"vs_{name}"] = _rtf(peer, kind) / ours
            row[kind] = ratios
        rows.append(row)
    return rows


# -- formatting ------------------------------------------------------------------------


def _g(value: float | None, digits: int = 3) -> str:
    return "—" if value is None else f"{value:.{digits}g}"


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value * 1000:.0f}"


def _times(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}×"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], markdown: bool) -> str:
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" if i == 0 else "---:" for i in range(len(header))) + "|"]
        lines += ["| " + " | ".join(row) + " |" for row in rows]
        return "\n".join(lines)
    widths = [max(len(str(c)) for c in column) for column in zip(header, *rows)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

    return "\n".join([line(header), line(["-" * w for w in widths]), *map(line, rows)])


def _contention(before: list[float] | None, after: list[float] | None, stall: float | None) -> str:
    load = f"{before[0]:.2f}→{after[0]:.2f}" if before and after else "—"
    return f"{load}; {stall:.0%}" if stall is not None else load


def _range(stat: dict[str, Any] | None) -> str:
    if not stat:
        return "—"
    return f"{_g(stat['median'])} [{_g(stat['min'])}–{_g(stat['max'])}]"


def describe_machine(document: dict[str, Any]) -> str:
    env = document["environment"]
    machine = env["machine"]
    before, after = document["environment"].get("load_average_before"), document["environment"].get("load_average_after")
    load = ""
    if before and after:
        load = f"; load average (1/5/15 min) {'/'.join(map(str, before))} before, {'/'.join(map(str, after))} after"
    gpus = f"; GPU {', '.join(machine['gpus'])}" if machine.get("gpus") else "; no GPU"
    plan = document["plan"]
    return (f"{machine['cpu']}, {machine['usable_cores']} usable cores{gpus}{load}. "
            f"{plan['threads']} threads per engine, {plan['repeats']} warm repetitions (+{plan['warmup']} warm-up)"
            f"{', --quick' if plan['quick'] else ''}; ttsengine {env['versions']['ttsengine']}"
            + (f" @ {env['git']['commit'][:10]}{'+dirty' if env['git']['dirty'] else ''}" if env.get("git") else ""))


def format_report(document: dict[str, Any], markdown: bool = False) -> str:
    """The human-readable report: RTF, latency/throughput/memory, ratios, skipped, failed."""
    plan = document["plan"]
    ok = _ok(document)
    heading = (lambda text: f"\n### {text}\n") if markdown else (lambda text: f"\n{text}")
    out = [("**Machine:** " if markdown else "machine: ") + describe_machine(document)]

    kinds = [k for k in ("short", "medium", "long") if k in plan["text_kinds"]]
    label = {"short": "short", "medium": "5 s", "long": "long"}
    out.append(heading("Real-time factor (wall / audio seconds; median [min–max]; lower is better)"))
    header = ["configuration", *(f"RTF {label[k]}" for k in kinds), *(f"audio s {label[k]}" for k in kinds),
              "load 1 min; CPU stall"]
    rows = []
    for r in ok:
        m = r["metrics"]
        load = r.get("load_average") or {}
        before, after = load.get("before"), load.get("after")
        rows.append([r["config"]["id"], *(_range(m.get(f"rtf_{k}", {}).get("rtf")) for k in kinds),
                     *(_g(m.get(f"rtf_{k}", {}).get("audio_s")) for k in kinds),
                     _contention(before, after, r.get("cpu_stall_fraction"))])
    out.append(_table(header, rows, markdown) if rows else "(no configuration ran)")

    sizes = [str(b) for b in plan["batch_sizes"]]
    conc = plan["concurrency"]
    out.append(heading(
        f"Latency, throughput and memory (TTFA: streaming, 5 s text; batch B: audio s per wall s; "
        f"{conc} concurrent requests on the {plan['concurrency_kind']} text; import, load and cold (first) "
        f"request of the 5 s text in a fresh process)"))
    header = ["configuration", "TTFA ms", *(f"batch {b}" for b in sizes),
              f"c{conc} p50/p95/p99 ms", f"c{conc} RTF", "import s", "load s", "cold req s", "peak RSS MiB", "GPU MiB"]
    rows = []
    for r in ok:
        m = r["metrics"]
        batch = m.get("batch", {})
        c = m.get("concurrency")
        lat = c["latency_s"] if c else None
        memory = r.get("memory", {})
        rows.append([
            r["config"]["id"],
            _ms(m.get("stream", {}).get("ttfa_s", {}).get("median")),
            *(_g(batch[b]["throughput"]["median"]) if b in batch else "—" for b in sizes),
            f"{_ms(lat['p50'])}/{_ms(lat['p95'])}/{_ms(lat['p99'])}" if lat else "—",
            _g(c["achieved_rtf"]) if c else "—",
            _g(m.get("cold", {}).get("import_s")),
            _g(m.get("cold", {}).get("load_s")),
            _g(m.get("cold", {}).get("first_request_s")),
            f"{memory['peak_rss_mib']:.0f}" if memory.get("peak_rss_mib") else "—",
            f"{memory['device_peak_mib']:.0f}" if memory.get("device_peak_mib") else "—",
        ])
    out.append(_table(header, rows, markdown) if rows else "(no configuration ran)")
    if rows and not document.get("isolated", True):
        out.append("(peak RSS: the whole benchmark process so far, not one configuration: run without --in-process for clean peaks)")

    ratios = compute_ratios(document)
    if ratios:
        names = sorted({key for row in ratios for key in row.get("medium", {})},
                       key=lambda k: (k != "vs_torch_eager", k))
        out.append(heading("Speed-up on the 5 s sentence (other RTF / this RTF; above 1: this configuration is faster)"))
        header = ["configuration", *(n.replace("vs_", "vs ").replace("torch_eager", "torch eager") for n in names)]
        rows = [[row["config"], *(_times(row.get("medium", {}).get(n)) for n in names)] for row in ratios]
        out.append(_table(header, rows, markdown))

    not_ok = [r for r in document["results"] if r["status"] != "ok"]
    bullet = "- " if markdown else "  "
    if not_ok:
        out.append(heading("Skipped or failed (not measured)"))
        for r in not_ok:
            notes = "".join(f" ({note})" for note in r["config"].get("notes", []))
            out.append(f"{bullet}{r['config']['id']}: {r['status']}: {r['reason']}{notes}")
    noted = [r for r in ok if r["config"].get("notes")]
    if noted:
        out.append(heading("Notes"))
        out += [f"{bullet}{r['config']['id']}: {'; '.join(r['config']['notes'])}" for r in noted]
    unavailable = [f"{name} ({s['reason']})" for name, s in document.get("backends", {}).items() if not s["available"]]
    if unavailable:
        out.append(("\n" if markdown else "") + "Backends not available here: " + "; ".join(unavailable))
    for note in document.get("notes", []):
        out.append(f"Note: {note}")
    return "\n".join(out) + "\n"


def write_json(document: dict[str, Any], path: str | Path) -> None:
    """The full document plus the ratios, as JSON."""
    data = dict(document)
    data["ratios"] = compute_ratios(document)
    Path(path).write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def write_plot(document: dict[str, Any], path: str | Path, bound: float | None = None) -> None:
    """PNG: RTF of the 5 s sentence per configuration (min–max bars) and latency percentiles."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ok = [r for r in _ok(document) if _rtf(r) is not None]
    labels = [r["config"]["id"] for r in ok]
    medians = [_rtf(r) for r in ok]
    lows = [m - r["metrics"]["rtf_medium"]["rtf"]["min"] for m, r in zip(medians, ok)]
    highs = [r["metrics"]["rtf_medium"]["rtf"]["max"] - m for m, r in zip(medians, ok)]
    colors = ["#888888" if r["config"]["kind"] == "peer" else "#1f77b4" for r in ok]
    height = max(4.0, 0.45 * len(ok) + 2.0)
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(10, 2 * height))
    positions = list(range(len(ok)))
    top.barh(positions, medians, xerr=[lows, highs], color=colors, capsize=3)
    for position, median, high in zip(positions, medians, highs):
        top.annotate(f"  {median:.3g}", (median + high, position), va="center", fontsize=7)
    top.set_yticks(positions, labels, fontsize=8)
    top.invert_yaxis()
    top.set_xlabel("RTF on the 5 s sentence (median, min–max; lower is better)")
    if medians and max(medians) / max(min(medians), 1e-12) > 30:
        top.set_xscale("log")
    if bound is not None:
        top.axvline(bound, color="#d62728", linestyle="--", label=f"--assert-rtf {bound:g}")
        top.legend(loc="lower right", fontsize=8)
    top.set_title(describe_machine(document), fontsize=7, wrap=True)

    with_latency = [r for r in ok if r["metrics"].get("concurrency")]
    width = 0.27
    for offset, (key, color) in enumerate((("p50", "#2ca02c"), ("p95", "#ff7f0e"), ("p99", "#d62728"))):
        bottom.barh([i + (offset - 1) * width for i in range(len(with_latency))],
                    [r["metrics"]["concurrency"]["latency_s"][key] * 1000 for r in with_latency],
                    height=width, color=color, label=key)
    bottom.set_yticks(list(range(len(with_latency))), [r["config"]["id"] for r in with_latency], fontsize=8)
    bottom.invert_yaxis()
    bottom.set_xlabel(f"request latency with {document['plan']['concurrency']} concurrent requests "
                      f"({document['plan']['concurrency_kind']} text), ms")
    bottom.legend(loc="lower right", fontsize=8)
    figure.tight_layout()
    figure.savefig(str(path), dpi=110)
    plt.close(figure)
