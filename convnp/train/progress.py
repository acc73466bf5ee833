"""What a person watching training sees.

On a terminal: a tqdm bar per epoch (images done, running loss and accuracy, images/s, time
left), replaced at the end of the epoch by the epoch's summary line. Anywhere else (a CI log, a
pipe, a notebook cell's captured output, a file): only the summary line, one per epoch::

    epoch  3/12  train loss 0.0712 acc 97.84%  test loss 0.0381 acc 98.83% top-5 99.99%  lr 0.0412  21.4 s  2,870 img/s  data 1.3%

``mode``: 'auto' (bar on a terminal, lines elsewhere), 'bar', 'lines' or 'quiet'.
"""

from __future__ import annotations

import math
import sys
import time

__all__ = ["Progress", "format_epoch_line", "PROGRESS_MODES"]

PROGRESS_MODES = ("auto", "bar", "lines", "quiet")


def _pct(value) -> str:
    return "  n/a " if value is None or (isinstance(value, float) and math.isnan(value)) else f"{100 * value:.2f}%"


def format_epoch_line(entry: dict, epochs: int | None = None, eval_name: str = "test") -> str:
    """The one-line summary of a history entry (see the module docstring)."""
    width = len(str(epochs)) if epochs else 1
    total = f"/{epochs}" if epochs else ""
    parts = [
        f"epoch {entry['epoch']:>{width}}{total}",
        f"train loss {entry['train_loss']:.4f} acc {_pct(entry['train_accuracy'])}",
    ]
    if entry.get(f"{eval_name}_loss") is not None:
        part = f"{eval_name} loss {entry[f'{eval_name}_loss']:.4f} acc {_pct(entry[f'{eval_name}_accuracy'])}"
        if entry.get(f"{eval_name}_top5") is not None:
            part += f" top-5 {_pct(entry[f'{eval_name}_top5'])}"
        parts.append(part)
    if entry.get("lr") is not None:
        parts.append(f"lr {entry['lr']:.4g}")
    parts.append(f"{entry['seconds']:.1f} s")
    parts.append(f"{entry['images_per_second']:,.0f} img/s")
    if entry.get("data_share") is not None:
        parts.append(f"data {100 * entry['data_share']:.1f}%")
    return "  ".join(parts)


class Progress:
    """Per-epoch progress display. ``stream`` defaults to sys.stdout (looked up at each call, so
    pytest's capture and redirections work)."""

    def __init__(self, mode: str = "auto", stream=None):
        if mode not in PROGRESS_MODES:
            raise ValueError(f"Progress: mode must be one of {', '.join(PROGRESS_MODES)}. Received: mode={mode!r}")
        self.mode = mode
        self._stream = stream
        self._bar = None
        self._start = 0.0
        self._last_refresh = 0.0

    @property
    def stream(self):
        return self._stream if self._stream is not None else sys.stdout

    @property
    def use_bar(self) -> bool:
        if self.mode == "bar":
            return True
        if self.mode != "auto":
            return False
        isatty = getattr(self.stream, "isatty", None)
        try:
            return bool(isatty and isatty())
        except (ValueError, OSError):
            return False

    def message(self, text: str) -> None:
        """Print a line (above the bar, if one is showing)."""
        if self.mode == "quiet":
            return
        if self._bar is not None:
            self._bar.write(text, file=self.stream)
        else:
            print(text, file=self.stream, flush=True)

    def epoch_start(self, epoch: int, epochs: int, n_images: int) -> None:
        self._start = time.perf_counter()
        if not self.use_bar:
            return
        from tqdm import tqdm

        width = len(str(epochs))
        self._bar = tqdm(
            total=n_images,
            desc=f"epoch {epoch:>{width}}/{epochs}",
            unit=" img",
            unit_scale=False,
            file=self.stream,
            leave=False,
            dynamic_ncols=True,
            mininterval=0.2,
            bar_format="{desc} {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} "
            "[{elapsed}<{remaining}, {rate_fmt}{postfix}]",
        )

    def batch(self, n_images: int, loss: float, accuracy: float) -> None:
        """After a batch: ``n_images`` more done; running mean loss and accuracy of the epoch."""
        if self._bar is None:
            return
        self._bar.update(n_images)
        now = time.perf_counter()
        if now - self._last_refresh > 0.2:
            self._last_refresh = now
            self._bar.set_postfix_str(f"loss {loss:.4f} acc {100 * accuracy:.2f}%", refresh=False)

    def epoch_end(self, entry: dict, epochs: int | None = None, eval_name: str = "test") -> None:
        self.close()
        self.message(format_epoch_line(entry, epochs, eval_name))

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
