"""Where features register what they answer: commands, typed words, dialog states, choices."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from .text import fold_compact

Handler = Callable[["Turn", str], Awaitable[None]]  # noqa: F821 - Turn is only a type here
PushRenderer = Callable[["Turn", dict], Awaitable[None]]  # noqa: F821


@dataclass(frozen=True)
class Command:
    """A command with its names (first is the Vietnamese one) and who may use it."""

    names: tuple[str, ...]
    handler: Handler
    needs_member: bool = True
    admin_only: bool = False
    keeps_state: bool = False
    in_menu: bool = True
    # Listed (in /huongdan and Telegram's command menu) only for organizers and admins.
    for_organizers: bool = False


@dataclass(frozen=True)
class ChoiceHandler:
    """Handles the choices of one namespace; some only make sense for registered members."""

    handler: Handler
    needs_member: bool = False


@dataclass(frozen=True)
class PushSpec:
    """A renderer of pushed messages and what it needs loaded."""

    render: PushRenderer
    needs_progress: bool = False


class Router:
    """A registry filled by the features at start and read by the conversation core."""

    def __init__(self) -> None:
        self._commands: dict[str, Command] = {}
        self._ordered: list[Command] = []
        self._words: dict[str, Command] = {}
        self._states: dict[str, Handler] = {}
        self._choices: dict[str, ChoiceHandler] = {}
        self._pushes: dict[str, PushSpec] = {}
        self.minute_jobs: list[Callable[[], Awaitable[None]]] = []
        # What a sent file or a shared phone number means: one feature each (rosters).
        self.file_handler: Handler | None = None
        self.contact_handler: Handler | None = None

    def command(self, *names: str, **options: bool) -> Callable[[Handler], Handler]:
        """Register a handler for ``/name`` and its aliases."""

        def register(handler: Handler) -> Handler:
            command = Command(tuple(names), handler, **options)
            for name in names:
                if name in self._commands:
                    raise ValueError(f"command /{name} registered twice")
                self._commands[name] = command
            self._ordered.append(command)
            return handler

        return register

    def state(self, name: str) -> Callable[[Handler], Handler]:
        """Register the handler of free text typed while in dialog state ``name``."""

        def register(handler: Handler) -> Handler:
            self._states[name] = handler
            return handler

        return register

    def choice(
        self, namespace: str, *, needs_member: bool = False
    ) -> Callable[[Handler], Handler]:
        """Register the handler of choices whose key is ``namespace:value``."""

        def register(handler: Handler) -> Handler:
            self._choices[namespace] = ChoiceHandler(handler, needs_member)
            return handler

        return register

    def push(
        self, kind: str, *, needs_progress: bool = False
    ) -> Callable[[PushRenderer], PushRenderer]:
        """Register how to render outbox rows of ``kind`` at the moment they are sent.

        ``needs_progress``: the renderer reads the member's lesson progress (costs a query).
        """

        def register(renderer: PushRenderer) -> PushRenderer:
            self._pushes[kind] = PushSpec(renderer, needs_progress)
            return renderer

        return register

    def every_minute(self, job: Callable[[], Awaitable[None]]) -> Callable[[], Awaitable[None]]:
        """Register a job the delivery service runs once a minute."""
        self.minute_jobs.append(job)
        return job

    def on_file(self, handler: Handler) -> Handler:
        """Register the handler of documents sent to the bot (the turn's ``incoming.file``)."""
        self.file_handler = handler
        return handler

    def on_contact(self, handler: Handler) -> Handler:
        """Register the handler of a phone number the member shared (given as the text)."""
        self.contact_handler = handler
        return handler

    def push_spec(self, kind: str) -> PushSpec | None:
        """How pushes of ``kind`` are rendered."""
        return self._pushes.get(kind)

    def add_words(self, command_name: str, words: list[str]) -> None:
        """Let typed phrases (any language, with or without diacritics) reach a command."""
        command = self._commands[command_name]
        for word in words:
            key = fold_compact(word)
            if key:
                self._words[key] = command

    def command_named(self, name: str) -> Command | None:
        """The command for a typed name or alias."""
        return self._commands.get(name)

    def word(self, folded: str) -> Command | None:
        """The command a typed phrase stands for, if any."""
        return self._words.get(folded)

    def state_handler(self, state: str) -> Handler | None:
        """The free-text handler of a dialog state."""
        return self._states.get(state) if state else None

    def choice_handler(self, namespace: str) -> ChoiceHandler | None:
        """The handler of a choice namespace."""
        return self._choices.get(namespace)

    @property
    def commands(self) -> list[Command]:
        """Every command, in registration order."""
        return list(self._ordered)
