"""A real SMTP server for the tests (aiosmtpd on a free loopback port), with switchable faults."""

from __future__ import annotations

import asyncio
import email
import socket
import time
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller


def free_port() -> int:
    # aiosmtpd's Controller(port=0) can't confirm its own start-up: pick the port first.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class Envelope:
    mail_from: str
    rcpt_tos: list[str]
    mail_options: list[str]
    content: bytes


class MailServer:
    """`smtputf8` says whether the server advertises SMTPUTF8 (read at each new connection);
    `refuse` maps an address to the answer its RCPT TO gets instead of 250."""

    def __init__(self) -> None:
        self.port = free_port()
        self.controller: Controller | None = None
        self.reset()

    def reset(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[Envelope] = []
        self.reply = "250 Message accepted"
        self.delay = 0.0  # seconds to think before answering each message
        self.refuse: dict[str, str] = {}
        self.smtputf8 = False

    @property
    def smtputf8(self) -> bool:
        return self._smtputf8

    @smtputf8.setter
    def smtputf8(self, offered: bool) -> None:
        self._smtputf8 = offered
        if self.controller is not None:
            self.controller.SMTP_kwargs["enable_SMTPUTF8"] = offered

    def start(self) -> None:
        # aiosmtpd's Controller advertises SMTPUTF8 unless told otherwise: say which.
        self.controller = Controller(
            self, hostname="127.0.0.1", port=self.port, enable_SMTPUTF8=self.smtputf8
        )
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    @property
    def running(self) -> bool:
        return self.controller is not None

    async def handle_RCPT(  # noqa: N802
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.reply.startswith("250"):
            content = envelope.original_content or envelope.content
            self.envelopes.append(
                Envelope(
                    envelope.mail_from,
                    list(envelope.rcpt_tos),
                    list(envelope.mail_options),
                    content,
                )
            )
            self.messages.append(email.message_from_bytes(content, policy=policy.default))
        return self.reply

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == address]

    def wait_for(self, count: int, timeout: float = 10.0) -> list[EmailMessage]:
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(self.messages) >= count, f"expected {count} e-mails, got {len(self.messages)}"
        return self.messages


def body(message: EmailMessage, subtype: str) -> str:
    part = message.get_body(preferencelist=(subtype,))
    assert part is not None, f"no text/{subtype} part"
    return part.get_content()
