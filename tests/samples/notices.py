"""A recording notifier for services that post notices: the texts in order (a list), and the buttons each came with."""

from __future__ import annotations


class Notices(list):
    """notify(text, buttons=()) as the scanner's notifier takes it; the texts in order, their buttons beside."""

    def __init__(self) -> None:
        super().__init__()
        self.buttons: list[list[dict]] = []

    def __call__(self, text: str, buttons=()) -> None:
        self.append(text)
        self.buttons.append(list(buttons))
