"""Theme colours as Rich styles, for the cells Rich renders (DataTable cells, bars).

Rich text cannot use `$success`-style variables, so the colours are read from the current theme's
variables once per theme; nothing here is a hard-coded colour.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from rich.style import Style
from textual.color import Color


@dataclass(frozen=True, slots=True)
class Palette:
    success: Style
    error: Style
    warning: Style
    primary: Style
    accent: Style
    muted: Style
    bold_error: Style

    @classmethod
    def from_variables(cls, variables: Mapping[str, str]) -> Palette:
        def colour(name: str, fallback: str = "foreground") -> Style:
            value = variables.get(name) or variables.get(fallback) or "white"
            return Style(color=Color.parse(value).rich_color)

        foreground = Color.parse(variables.get("foreground", "white"))
        background = Color.parse(variables.get("background", "black"))
        muted = Style(color=foreground.blend(background, 0.45).rich_color)
        error = colour("error")
        return cls(
            success=colour("success"),
            error=error,
            warning=colour("warning"),
            primary=colour("primary"),
            accent=colour("accent"),
            muted=muted,
            bold_error=error + Style(bold=True),
        )
