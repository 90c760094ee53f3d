"""What makes every report a rich renderable and a notebook cell's value.

A report draws exactly what the CLI's table renderer draws (the one in
:data:`paraminspect.render.RENDERERS`), into a console of the width rich gives it, and
its data is exactly the CLI's ``--format json`` object. rich is imported only when a
report is drawn, so the reports stay cheap to import.
"""

from __future__ import annotations

import io
import json
from typing import Any, Dict, Iterator, Optional, Sequence

HTML_WIDTH = 110  # columns of a notebook cell's rendering (rich's Jupyter default is 115)


class RichReport:
    """Mixin for the frozen report dataclasses: ``rich.print(report)``, ``to_dict()``,
    ``to_json()`` and the HTML of a notebook cell."""

    __slots__ = ()

    def to_dict(self) -> Any:
        """The object ``paraminspect ... --format json`` prints for this report."""
        from paraminspect.render import to_dict

        return to_dict(self)

    def to_json(self, indent: Optional[int] = 2) -> str:
        """:meth:`to_dict` as JSON text (NaN and Inf are already strings there)."""
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)

    def __rich_console__(self, console: Any, options: Any) -> Iterator[Any]:
        from rich.ansi import AnsiDecoder
        from rich.console import Console

        from paraminspect.render import renderers

        table, _ = renderers(self)
        # The table renderers print into a console; give them one of the same width and
        # colours, then hand rich the lines they drew.
        buffer = io.StringIO()
        inner = Console(
            file=buffer,
            width=options.max_width,
            color_system=console.color_system,
            force_terminal=console.color_system is not None,
            force_jupyter=False,
            no_color=console.no_color,
            legacy_windows=False,
            highlight=False,
        )
        table(inner, self)
        for line in getattr(self, "warnings", ()):
            inner.print(f"warning: {line}", style="bold yellow", markup=False)
        drawn = buffer.getvalue()
        drawn = drawn[:-1] if drawn.endswith("\n") else drawn  # each Text ends its own line
        for text in AnsiDecoder().decode(drawn):
            text.no_wrap = True
            yield text

    def _repr_mimebundle_(
        self, include: Optional[Sequence[str]] = None, exclude: Optional[Sequence[str]] = None
    ) -> Dict[str, str]:
        """HTML through rich's console export, with the same drawing as text/plain."""
        from rich.console import Console

        console = Console(
            file=io.StringIO(),
            record=True,
            width=HTML_WIDTH,
            color_system="truecolor",
            force_terminal=True,
            force_jupyter=False,
        )
        console.print(self)
        text = console.export_text(clear=False)
        html = console.export_html(
            inline_styles=True,
            code_format=(
                '<pre style="white-space:pre;overflow-x:auto;line-height:normal;'
                "font-family:Menlo,'DejaVu Sans Mono',consolas,'Courier New',monospace\">"
                "{code}</pre>"
            ),
        )
        bundle = {"text/plain": text, "text/html": html}
        if include:
            bundle = {k: v for k, v in bundle.items() if k in include}
        if exclude:
            bundle = {k: v for k, v in bundle.items() if k not in exclude}
        return bundle

    def _repr_html_(self) -> str:
        return self._repr_mimebundle_()["text/html"]
