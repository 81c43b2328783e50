"""What the user asked for: one requirement or constraint line, as written."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from packaging.requirements import Requirement


@dataclass(frozen=True)
class Request:
    """One requirement or constraint as the user wrote it (on the command line or in a file)."""

    text: str  # the requirement string, without per-line options
    origin: str = "command line"
    constraint: bool = False
    editable: bool = False
    line_options: tuple[str, ...] = ()  # e.g. --hash=sha256:..., kept verbatim

    @property
    def requirement(self) -> Optional[Requirement]:
        if self.editable:
            return None
        try:
            return Requirement(self.text)
        except Exception:
            return None  # a path or URL: never rewritten

    def line(self, text: Optional[str] = None) -> str:
        body = self.text if text is None else text
        if self.editable:
            body = f"-e {body}"
        return " ".join([body, *self.line_options])
