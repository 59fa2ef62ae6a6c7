"""The interactive shell: prompt_toolkit over a `Session`.

`?` shows context help at once, without Enter, and leaves the typed line in place; TAB
completes keywords and lists the candidates when several fit (readline style, as FRR
does); Up/Down walk the history; Ctrl-Z is `end`; Ctrl-C abandons the line; Ctrl-D on
an empty line leaves the session. Everything else is the session's job.
"""

from __future__ import annotations

from collections.abc import Iterable

from prompt_toolkit import PromptSession
from prompt_toolkit.application import run_in_terminal
from prompt_toolkit.completion import CompleteEvent, Completer, Completion
from prompt_toolkit.document import Document
from prompt_toolkit.history import InMemoryHistory
from prompt_toolkit.input import Input
from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent
from prompt_toolkit.output import Output
from prompt_toolkit.shortcuts import CompleteStyle, print_formatted_text

from pmiprouter.cli.session import Session


class SessionCompleter(Completer):
    """Completes the last word from the session's command tree (keywords only)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def get_completions(self, document: Document, complete_event: CompleteEvent) -> Iterable[Completion]:
        """Yield keyword completions for the text before the cursor."""
        text = document.text_before_cursor
        partial = '' if not text or text[-1].isspace() else text.split()[-1]
        for word in self.session.completions(text):
            yield Completion(word + ' ', start_position=-len(partial), display=word)


def key_bindings(session: Session) -> KeyBindings:
    """`?` for immediate help and Ctrl-Z for `end`."""
    bindings = KeyBindings()

    @bindings.add('?')
    def _help(event: KeyPressEvent) -> None:
        buffer = event.app.current_buffer
        if not session.echo:
            buffer.insert_text('?')  # a password may contain '?'
            return
        text = buffer.document.text_before_cursor
        shown = session.prompt + text + '?'
        output = session.help(text)

        def show() -> None:
            print(shown)
            print(output, end='', flush=True)

        run_in_terminal(show)

    @bindings.add('c-z')
    def _end(event: KeyPressEvent) -> None:
        buffer = event.app.current_buffer
        buffer.text = 'end'
        buffer.validate_and_handle()

    return bindings


def run_shell(session: Session, *, input: Input | None = None, output: Output | None = None) -> int:
    """Run the interactive loop until the session closes; return the exit status."""
    prompt_session: PromptSession[str] = PromptSession(
        completer=SessionCompleter(session),
        key_bindings=key_bindings(session),
        complete_style=CompleteStyle.READLINE_LIKE,
        complete_while_typing=False,
        history=InMemoryHistory(),
        input=input,
        output=output,
    )
    # Passwords go through a separate prompt so that they never enter the history.
    secret_prompt: PromptSession[str] = PromptSession(input=input, output=output)
    while not session.closed:
        try:
            if session.echo:
                line = prompt_session.prompt(session.prompt)
            else:
                line = secret_prompt.prompt(session.prompt, is_password=True)
        except KeyboardInterrupt:
            session.pending = None
            continue
        except EOFError:
            break
        text = session.feed(line)
        if text:
            print_formatted_text(text, end='', output=output)
    return 0
