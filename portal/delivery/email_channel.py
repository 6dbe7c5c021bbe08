"""Sending rendered e-mails: one SMTP connection per batch, or the development mailbox."""

from __future__ import annotations

import contextlib
import smtplib
import socket
from email.charset import QP, Charset
from email.header import Header
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import compat32
from email.utils import formataddr, formatdate, parseaddr
from typing import Any

from flask import Flask
from sqlmodel import Session

from portal.clock import utcnow
from portal.delivery.errors import DeliveryFailed, PermanentFailure
from portal.delivery.mail import RenderedEmail
from portal.extensions import mail
from portal.models import DevMail, OutboxItem


def message_id(item: OutboxItem, base_url: str) -> str:
    """Stable across retries, so receivers can dedupe."""
    host = base_url.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0] or "portal"
    return f"<{item.idempotency_key}@{host}>"


def describe(exc: BaseException) -> str:
    """A reason a member can read on the invitation row."""
    if isinstance(exc, smtplib.SMTPResponseException):
        detail = exc.smtp_error
        text = detail.decode(errors="replace") if isinstance(detail, bytes) else str(detail)
        return f"mail server answered {exc.smtp_code}: {text}"
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code, detail = next(iter(exc.recipients.values()))
        return f"mail server refused the recipient ({code}): {detail.decode(errors='replace')}"
    if isinstance(exc, ConnectionRefusedError):
        return "mail server refused the connection (is it running?)"
    if isinstance(exc, (TimeoutError, socket.timeout)):
        return "mail server did not answer in time"
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return "mail server closed the connection"
    return f"{type(exc).__name__}: {exc}"


# Quoted-printable keeps lines under SMTP's 998-character limit (inlined HTML has long ones)
# while leaving plain text readable in the raw message.
_UTF8_QP = Charset("utf-8")
_UTF8_QP.body_encoding = QP
_SMTP_LINES = compat32.clone(linesep="\r\n")


def build_message(email: RenderedEmail, sender: str, msg_id: str) -> bytes:
    """multipart/alternative (text, then HTML), built with the classic email API: Flask-Mail's
    Message goes through email.policy.SMTP's header parsing, which cost 3 ms an e-mail, most
    of the worker's time (bench/delivery.py)."""
    message = MIMEMultipart("alternative")
    message.attach(MIMEText(email.text, "plain", _UTF8_QP))
    message.attach(MIMEText(email.html, "html", _UTF8_QP))
    name, address = parseaddr(sender)
    message["Subject"] = Header(email.subject, "us-ascii" if email.subject.isascii() else "utf-8")
    message["From"] = formataddr((name, address), charset="utf-8")
    message["To"] = email.to
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = msg_id
    # smtplib passes bytes through as they are: the line ends must already be CRLF.
    return message.as_bytes(policy=_SMTP_LINES)


class EmailChannel:
    def __init__(self, app: Flask) -> None:
        self.use_mailbox = not app.config.get("MAIL_SERVER")
        self.sender = app.config["MAIL_DEFAULT_SENDER"]
        self._connection: Any = None

    def __enter__(self) -> EmailChannel:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._drop_connection()

    def send(self, session: Session, email: RenderedEmail, msg_id: str) -> None:
        if self.use_mailbox:
            session.add(
                DevMail(
                    recipient=email.to,
                    subject=email.subject,
                    text_body=email.text,
                    html_body=email.html,
                    message_id=msg_id,
                    created_at=utcnow(),
                )
            )
            return
        raw = build_message(email, self.sender, msg_id)
        try:
            if self._connection is None:
                connection = mail.connect()  # Flask-Mail's settings and connection handling
                connection.__enter__()
                self._connection = connection
            self._connection.host.sendmail(parseaddr(self.sender)[1], [email.to], raw)
        except smtplib.SMTPRecipientsRefused as exc:
            code = next(iter(exc.recipients.values()))[0]
            failure = PermanentFailure if code >= 500 else DeliveryFailed
            raise failure(describe(exc)) from exc
        except smtplib.SMTPResponseException as exc:
            self._drop_connection()
            failure = PermanentFailure if exc.smtp_code >= 500 else DeliveryFailed
            raise failure(describe(exc)) from exc
        except (smtplib.SMTPException, OSError) as exc:
            # After an error the connection's state is unknown: the next item opens a new one.
            self._drop_connection()
            raise DeliveryFailed(describe(exc)) from exc

    def _drop_connection(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                connection.__exit__(None, None, None)
