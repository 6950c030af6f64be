"""A real SMTP server for tests (aiosmtpd), collecting what it receives."""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
import threading
from email.message import EmailMessage

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Collector:
    """Keeps what arrives. ``stall()`` makes it hang every client at EHLO until ``unstall()``
    (a server that stopped answering); ``refuse`` maps addresses to the reply refusing them (``"550 …"``, ``"450 …"``)."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.received = threading.Condition()
        self.refuse: dict[str, str] = {}
        self.stalled = False
        self.stalling = threading.Event()  # a client is hanging at EHLO

    def stall(self) -> None:
        self.stalled = True

    def unstall(self) -> None:
        self.stalled = False

    async def handle_EHLO(
        self, server: object, session: object, envelope: object, hostname: str, responses: list
    ) -> list:
        while self.stalled:
            self.stalling.set()
            await asyncio.sleep(0.05)
        session.host_name = hostname  # type: ignore[attr-defined]  # what the default EHLO does
        return responses

    async def handle_RCPT(
        self, server: object, session: object, envelope: object, address: str, options: list
    ) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)  # type: ignore[attr-defined]
        return "250 OK"

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        message = email.message_from_bytes(
            envelope.content,  # type: ignore[attr-defined]
            policy=email.policy.default,
        )
        with self.received:
            self.messages.append(message)  # type: ignore[arg-type]
            self.received.notify_all()
        return "250 OK"

    def wait_for(self, count: int, timeout: float = 10) -> list[EmailMessage]:
        with self.received:
            self.received.wait_for(lambda: len(self.messages) >= count, timeout=timeout)
            return list(self.messages)


class SmtpServer:
    """Start and stop on a fixed port, so a test can have the server down and bring it up later."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.collector = Collector()
        self.controller: Controller | None = None

    def start(self) -> SmtpServer:
        self.controller = Controller(self.collector, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    @property
    def messages(self) -> list[EmailMessage]:
        return self.collector.messages


def body_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())
