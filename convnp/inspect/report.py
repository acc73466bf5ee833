"""report.html: everything convnp.inspect shows about one trained network, in one offline file.

The report is a single HTML file: every picture is embedded as a base64 PNG ``data:`` URI, the
style sheet is inline, there is no script, no font, no request to any server (it opens from a
USB stick on a machine without network). Each picture is also written beside it as a PNG.

Contents: the model summary (``cn.summary``), the training curves (when the run's metrics are
given), the top-5 predictions of sample images, the confusion matrix and the most confused pairs,
saliency, guided backprop and Grad-CAM of the sample images, and per layer (navigable from the
side bar): the receptive field, the filters, the feature maps of a sample image, one output value
explained by hand, and the top-k patches over the data set with their deconvnet projections.
"""

from __future__ import annotations

import base64
import html
import json
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from convnp.inspect import figures as figs
from convnp.inspect.attribution import default_cam_layer, grad_cam, saliency, upsample
from convnp.inspect.deconvnet import guided_backprop
from convnp.inspect.explain import explain_output
from convnp.inspect.maps import filter_weight
from convnp.inspect.predictions import evaluate_predictions
from convnp.inspect.receptive import receptive_fields
from convnp.inspect.topk import iterate_batches, top_patches
from convnp.inspect.trace import as_input, conv_like, output_tensor, trace
from convnp.nn.module import Module

__all__ = ["report", "Report", "default_layers"]


@dataclass
class Report:
    """What :func:`report` wrote: the HTML file, the PNGs, and the seconds each part took."""

    html: Path
    pngs: list[Path] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    accuracy: float | None = None


def default_layers(model: Module, x) -> tuple[list[str], list[str]]:
    """(layers shown, layers with top-k patches): the first 6 conv layers and the pooling layers
    among them; top-k patches for the first two conv layers."""
    tr = trace(model, x[:1])
    convs = [c for c in tr.calls if c.path and conv_like(c.module)]
    shown_convs = convs[:6]
    if not shown_convs:
        return [], []
    last = shown_convs[-1].order
    pools = [
        c
        for c in tr.calls
        if c.path
        and c.is_leaf
        and "Pool" in type(c.module).__name__
        and c.order < last
        and isinstance(c.output, type(tr.input))
        and c.output.ndim == 4
    ]
    shown = sorted(shown_convs + pools, key=lambda c: c.order)
    return [c.key for c in shown], [c.key for c in convs[:2]]


class _Writer:
    """Collects figures: writes each PNG and keeps its data URI for the page."""

    def __init__(self, out: Path, dpi: int):
        self.out = out
        self.dpi = dpi
        self.pngs: list[Path] = []

    def figure(self, fig, name: str, alt: str) -> str:
        safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name)
        path = self.out / f"{safe}.png"
        data = figs.save_png(fig, path, self.dpi)
        self.pngs.append(path)
        uri = "data:image/png;base64," + base64.b64encode(data).decode("ascii")
        return f'<figure><img src="{uri}" alt="{html.escape(alt)}"><figcaption>{html.escape(alt)}</figcaption></figure>'


def _anchor(key: str) -> str:
    return "layer-" + "".join(ch if ch.isalnum() else "-" for ch in key)


def _history(metrics) -> list[dict] | None:
    if metrics is None:
        return None
    if isinstance(metrics, (str, os.PathLike)):
        try:
            metrics = json.loads(Path(metrics).read_text())
        except (OSError, ValueError):
            return None
    if isinstance(metrics, dict):
        metrics = metrics.get("history")
    return list(metrics) if isinstance(metrics, list) and metrics else None


def _summary_text(model: Module, shape) -> str | None:
    try:
        from convnp.summary import summary
    except ImportError:
        return None
    try:
        return summary(model, tuple(shape)).to_text()
    except Exception as exc:  # noqa: BLE001 - the report goes on without it
        return f"(cn.summary failed: {type(exc).__name__}: {exc})"


def report(
    model: Module,
    loader,
    out,
    *,
    layers=None,
    top_layers=None,
    k: int = 9,
    classes=None,
    mean=None,
    std=None,
    metrics=None,
    title: str | None = None,
    limit: int | None = None,
    samples: int = 8,
    deconv: bool = True,
    info: dict | None = None,
    log=None,
    dpi: int = 90,
) -> Report:
    """Write ``out``/report.html and a PNG per figure for ``model`` over ``loader`` ((x, y) batches of
    normalised model inputs, read twice: once for the top-k patches, once for the predictions).

    ``layers``: the layers shown (default: the first 6 conv layers and the pooling layers among
    them); ``top_layers``: the layers whose top-``k`` patches are searched (default: the first two
    conv layers, or ``layers`` when given); ``classes``: class names; ``mean``/``std``: the
    normalisation, to show images as they are; ``metrics``: metrics.json (path, dict or history
    list) for the training curves; ``limit``: read at most this many images; ``info``: lines
    (name -> value) for the page's header. Returns a :class:`Report`.
    """
    say = log or (lambda msg: None)
    t_start = time.perf_counter()
    seconds: dict[str, float] = {}
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    w = _Writer(out, dpi)

    if not isinstance(loader, np.ndarray) and iter(loader) is loader:
        raise TypeError(
            "report: the loader is read several times (top-k patches, predictions); pass a DataLoader "
            f"or an array of images, not a one-shot iterator. Received: {type(loader).__name__}"
        )
    first = next(iter(iterate_batches(loader)), None)
    if first is None:
        raise ValueError("report: the loader gave no images. Received: an empty loader")
    x0 = as_input(model, first[0], "report")
    y0 = None if first[1] is None else np.asarray(first[1], dtype=np.int64).reshape(-1)
    if layers is None:
        shown, top_default = default_layers(model, x0)
    else:
        shown = [layers] if isinstance(layers, str) else list(layers)
        top_default = shown
    top = list(top_layers) if top_layers is not None else top_default
    tr0 = trace(model, x0[:1])
    for name in shown + top:
        tr0[name]  # unknown names fail here, before any work
    spatial_top = [n for n in top if output_tensor(tr0[n], "report").ndim == 4]
    spatial_shown = [n for n in shown if output_tensor(tr0[n], "report").ndim == 4]
    fields = receptive_fields(model, x0[:1])

    # --- one pass: top-k patches ---------------------------------------------------------------
    t = time.perf_counter()
    tops = {}
    if spatial_top:
        say(f"top-{k} patches of {', '.join(spatial_top)} ...")
        tops = top_patches(
            model, loader, spatial_top, k=k, limit=limit, deconv=deconv, mean=mean, std=std, classes=classes
        )
    seconds["top_patches"] = time.perf_counter() - t

    # --- one pass: predictions -----------------------------------------------------------------
    t = time.perf_counter()
    evaluation = None
    if y0 is not None:
        say("predictions and confusion matrix ...")
        evaluation = evaluate_predictions(
            model, loader, len(classes) if classes else None, classes, samples=samples, limit=limit
        )
        classes = evaluation.classes
    seconds["predictions"] = time.perf_counter() - t

    # --- pictures --------------------------------------------------------------------------------
    t = time.perf_counter()
    say("figures ...")
    sample_x = evaluation.samples_x if evaluation is not None and len(evaluation.samples_x) else x0[:samples]
    sample_y = evaluation.samples_y if evaluation is not None and len(evaluation.samples_x) else None
    names = classes or [str(i) for i in range(1000)]
    parts: dict[str, str] = {}
    history = _history(metrics)
    if history:
        parts["curves"] = w.figure(figs.curves_figure(history), "curves", "training curves")
    if evaluation is not None:
        acc = evaluation.accuracy
        parts["predictions"] = w.figure(
            figs.predictions_figure(sample_x, sample_y, evaluation.samples_top, names, mean, std),
            "predictions",
            "top-5 predictions of sample images (true class green, a wrong first guess red)",
        )
        parts["confusion"] = w.figure(
            figs.confusion_figure(
                evaluation.confusion,
                names,
                f"confusion matrix over {evaluation.n:,} images (accuracy {100 * acc:.2f}%)",
            ),
            "confusion",
            "confusion matrix: rows the true class, columns the prediction",
        )
        parts["pairs"] = w.figure(
            figs.confused_pairs_figure(evaluation.pairs, evaluation.pair_examples, names, mean, std),
            "confused_pairs",
            "the most confused pairs",
        )
    attribution_html = _attributions(model, sample_x, sample_y, names, mean, std, w)
    layer_html = []
    for name in spatial_shown + [n for n in spatial_top if n not in spatial_shown]:
        layer_html.append(_layer_section(model, tr0, name, fields.get(name), x0, tops.get(name), mean, std, w))
    seconds["figures"] = time.perf_counter() - t

    summary = _summary_text(model, (1,) + x0.shape[1:])
    seconds["total"] = time.perf_counter() - t_start
    page = _page(
        title or f"{type(model).__name__}: what the network has learned",
        info or {},
        summary,
        parts,
        attribution_html,
        layer_html,
        fields,
        tr0,
        evaluation,
        seconds,
    )
    path = out / "report.html"
    path.write_text(page, encoding="utf-8")
    return Report(path, w.pngs, seconds, evaluation.accuracy if evaluation is not None else None)


def _attributions(model, x, y, names, mean, std, w: _Writer) -> str:
    """Saliency, guided backprop (of the class score's strongest unit) and Grad-CAM of the sample images."""
    x = x[:8]
    out = []
    try:
        tr = trace(model, x[:1])
        cam_layer = default_cam_layer(tr)
    except ValueError:
        cam_layer = None
    sal = saliency(model, x)  # predicted class
    pred = np.argmax(_scores(model, x), axis=1)
    titles = [
        f"pred {names[p]}" + (f" (true {names[t]})" if y is not None else "")
        for p, t in zip(pred, y if y is not None else pred)
    ]
    out.append(
        w.figure(
            figs.heatmap_figure(
                x, sal, titles, mean, std, "saliency |dS/dx| (Simonyan et al. 2013)", cmap="hot", alpha=0.6
            ),
            "saliency",
            "saliency: max over channels of |d score / d pixel| for the predicted class",
        )
    )
    if cam_layer is not None:
        cam = grad_cam(model, x, None, cam_layer)
        up = upsample(cam, x.shape[2:])
        out.append(
            w.figure(
                figs.heatmap_figure(x, up, titles, mean, std, f"Grad-CAM of {cam_layer} (Selvaraju et al. 2017)"),
                "grad_cam",
                f"Grad-CAM at layer {cam_layer}, upsampled to the image, for the predicted class",
            )
        )
        convs = [c.key for c in tr.calls if c.path and conv_like(c.module)]
        if convs:
            last = convs[-1]
            act = output_tensor(trace(model, x, stop_after=last)[last], "report").data
            ch = np.argmax(act.max(axis=(2, 3)), axis=1)  # each image's strongest channel
            gb = guided_backprop(model, x, last, ch)
            mag = np.abs(gb).max(axis=1)
            out.append(
                w.figure(
                    figs.heatmap_figure(
                        x,
                        mag,
                        [f"{last} ch {c}" for c in ch],
                        mean,
                        std,
                        f"guided backprop of each image's strongest channel of {last}",
                        cmap="hot",
                        alpha=0.6,
                    ),
                    "guided_backprop",
                    "guided backprop (Springenberg et al. 2015): |projection|, max over channels",
                )
            )
    return "\n".join(out)


def _scores(model, x):
    from convnp.inspect.attribution import class_scores

    return class_scores(model, x)


def _layer_section(model, tr0, name, rf, x0, tp, mean, std, w: _Writer) -> str:
    call = tr0[name]
    out_shape = output_tensor(call, "report").shape
    parts = [
        f'<section id="{_anchor(name)}"><h2>{html.escape(name)} <small>{html.escape(call.kind)}, '
        f"output {'x'.join(map(str, out_shape[1:]))}</small></h2>"
    ]
    if rf is not None:
        parts.append(
            f"<p>Receptive field: {rf.size[0]}x{rf.size[1]} pixels, jump {rf.jump[0]} "
            f"(neighbouring positions see fields {rf.jump[0]} pixels apart)"
            f"{'' if rf.exact else ' (an operation without a rule was met: the field is an upper bound)'}.</p>"
        )
    module = call.module
    if conv_like(module):
        parts.append(
            w.figure(figs.filters_figure(filter_weight(module), name), f"filters_{name}", f"filters of {name}")
        )
    maps = output_tensor(trace(model, x0[:1], stop_after=name)[name], "report").data[0]
    parts.append(
        w.figure(
            figs.feature_maps_figure(maps, name, x0[0], mean, std),
            f"feature_maps_{name}",
            f"feature maps of {name} for the first image",
        )
    )
    if conv_like(module):
        c = int(np.argmax(maps.reshape(maps.shape[0], -1).max(axis=1)))
        yx = np.unravel_index(int(np.argmax(maps[c])), maps.shape[1:])
        e = explain_output(model, x0[:1], name, n=0, c=c, y=int(yx[0]), x=int(yx[1]), show=False, max_channels=2)
        parts.append(
            f"<details><summary>One output value by hand: channel {c} at (y={yx[0]}, x={yx[1]}), the "
            f"strongest of the first image</summary><pre>{html.escape(str(e))}</pre></details>"
        )
    if tp is not None:
        parts.append(
            w.figure(
                tp.plot(),
                f"top_patches_{name}",
                f"top-{tp.k} patches of every channel of {name} over {tp.images_seen:,} images",
            )
        )
    parts.append("</section>")
    return "\n".join(parts)


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:0;color:#222;background:#fafafa}
nav{position:fixed;top:0;left:0;bottom:0;width:210px;overflow-y:auto;background:#263238;padding:12px 8px;box-sizing:border-box}
nav a{display:block;color:#cfd8dc;text-decoration:none;font-size:13px;padding:2px 6px;border-radius:3px}
nav a:hover{background:#37474f;color:#fff}
nav .group{color:#90a4ae;font-size:11px;text-transform:uppercase;margin:10px 6px 2px}
main{margin-left:220px;padding:16px 28px;max-width:1200px}
h1{font-size:22px}h2{font-size:18px;border-bottom:1px solid #ddd;padding-bottom:4px;margin-top:32px}
h2 small{color:#777;font-weight:normal;font-size:13px}
figure{margin:12px 0}figure img{max-width:100%;height:auto;border:1px solid #e0e0e0;background:#fff}
figcaption{font-size:12px;color:#666}
pre{background:#fff;border:1px solid #e0e0e0;padding:8px;font-size:11.5px;overflow-x:auto}
table{border-collapse:collapse;font-size:12.5px}td,th{border:1px solid #ddd;padding:2px 8px;text-align:right}
th{background:#eceff1}td:first-child,th:first-child{text-align:left}
.info td{text-align:left}
"""


def _page(title, info, summary, parts, attribution_html, layer_html, fields, tr0, evaluation, seconds) -> str:
    e = html.escape
    nav = ['<div class="group">network</div>', '<a href="#overview">overview</a>']
    if summary:
        nav.append('<a href="#summary">model summary</a>')
    nav.append('<a href="#fields">receptive fields</a>')
    if "curves" in parts:
        nav.append('<a href="#curves">training curves</a>')
    if evaluation is not None:
        nav += ['<a href="#predictions">predictions</a>', '<a href="#confusion">confusion</a>']
    nav.append('<a href="#attribution">saliency &amp; Grad-CAM</a>')
    nav.append('<div class="group">layers</div>')
    for block in layer_html:
        m = re.search(r'<section id="([^"]+)"><h2>([^<]+)', block)
        if m:
            nav.append(f'<a href="#{m.group(1)}">{m.group(2).strip()}</a>')
    rows = "".join(f"<tr><td>{e(str(k))}</td><td>{e(str(v))}</td></tr>" for k, v in info.items())
    if evaluation is not None:
        rows += f"<tr><td>accuracy</td><td>{100 * evaluation.accuracy:.2f}% of {evaluation.n:,} images</td></tr>"
    rows += f"<tr><td>report written in</td><td>{seconds.get('total', 0):.1f} s</td></tr>"
    field_rows = []
    for c in tr0.calls:
        if not c.path or c.key not in fields:
            continue
        rf = fields[c.key]
        shape = getattr(c.output, "shape", None)
        field_rows.append(
            f"<tr><td>{e(c.key)}</td><td>{e(c.kind)}</td><td>{e(str(tuple(shape[1:])) if shape else '')}"
            f"</td><td>{rf.size[0]}x{rf.size[1]}</td><td>{rf.jump[0]}</td></tr>"
        )
    body = [f"<h1>{e(title)}</h1>", '<section id="overview"><table class="info">' + rows + "</table></section>"]
    if summary:
        body.append(f'<section id="summary"><h2>Model summary</h2><pre>{e(summary)}</pre></section>')
    body.append(
        '<section id="fields"><h2>Receptive fields</h2><p>Per layer, the largest box of input pixels one '
        "output position sees, and the jump (the stride of the layer on the image). Fields are clipped at "
        "the image border when patches are cut.</p><table><tr><th>layer</th><th>type</th><th>output</th>"
        "<th>field</th><th>jump</th></tr>" + "".join(field_rows) + "</table></section>"
    )
    if "curves" in parts:
        body.append('<section id="curves"><h2>Training curves</h2>' + parts["curves"] + "</section>")
    if evaluation is not None:
        body.append('<section id="predictions"><h2>Predictions</h2>' + parts["predictions"] + "</section>")
        body.append('<section id="confusion"><h2>Confusion</h2>' + parts["confusion"] + parts["pairs"] + "</section>")
    body.append('<section id="attribution"><h2>What the network looks at</h2>' + attribution_html + "</section>")
    body += layer_html
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<link rel="icon" href="data:,">'
        f"<title>{e(title)}</title><style>{_CSS}</style></head><body>"
        f"<nav>{''.join(nav)}</nav><main>{''.join(body)}</main></body></html>\n"
    )
