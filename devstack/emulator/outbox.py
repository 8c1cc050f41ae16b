"""The emulator's outbox: every email that SES (moto) accepted, written to a folder as an
`.eml` file (a mail program opens it), so a developer sees what customers would get. The shop
sends SES's simple content (a subject and a text): each is written as SES would make it, plain
UTF-8 text from the sender to its recipients."""

from __future__ import annotations

import threading
from email.message import EmailMessage
from pathlib import Path

from moto.ses.models import Message, ses_backends

# What the email services of the emulator are called in its requests (SES v1 and v2 share the
# sent messages).
EMAIL_SERVICES = frozenset({"ses", "sesv2", "email"})


class Outbox:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._written: set[str] = set()
        self._lock = threading.Lock()

    def collect(self) -> None:
        """Write the messages sent since the last call."""
        with self._lock:
            for regions in list(ses_backends.values()):
                for backend in list(regions.values()):
                    for message in list(backend.sent_messages):
                        if message.id not in self._written and isinstance(message, Message):
                            self._write(message.id, _made(message))

    def _write(self, message_id: str, text: str) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{message_id}.eml"
        partial = path.with_suffix(".eml.part")
        partial.write_text(text)
        partial.replace(path)  # whole, or not there: a reader never sees half a message
        self._written.add(message_id)


def _made(message: Message) -> str:
    made = EmailMessage()
    made["From"] = message.source
    made["To"] = ", ".join(message.destinations.get("ToAddresses", []))
    made["Subject"] = message.subject
    made.set_content(message.body)
    return made.as_string()
