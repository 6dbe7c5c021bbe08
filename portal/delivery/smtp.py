"""Sending rendered e-mails: one SMTP connection per batch, or the development mailbox.

One bad item must never fail the next: every failure leaves the connection at the start of a
transaction (RSET) or drops it, and an address the server can't take is refused before any
command is sent for it.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import secrets
import smtplib
import socket
import ssl
import threading
from email import encoders
from email.charset import QP, Charset
from email.header import Header
from email.headerregistry import Address
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import compat32
from email.utils import formataddr, formatdate, parseaddr
from typing import Any

from flask import Flask
from sqlmodel import Session

from portal.clock import utcnow
from portal.delivery.errors import DeliveryFailed, PermanentFailure
from portal.delivery.message import Attachment, RenderedEmail
from portal.email_addresses import (
    ASCII_ONLY,
    EVERY_ADDRESS,
    NON_ASCII_LOCAL_PART,
    MailReach,
    Transport,
    Undeliverable,
    one_line,
    transport_address,
)
from portal.extensions import mail
from portal.models import DevMail, OutboxItem

log = logging.getLogger(__name__)

# How long a page may wait for the mail server to say whether it takes SMTPUTF8. Asked only
# for an address with a non-ASCII local part, and once per process.
PROBE_TIMEOUT_SECONDS = 5

NON_ASCII_REFUSED = NON_ASCII_LOCAL_PART[0].upper() + NON_ASCII_LOCAL_PART[1:]


def message_id(item: OutboxItem, base_url: str) -> str:
    """Stable across retries, so receivers can dedupe."""
    host = base_url.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0] or "portal"
    return f"<{item.idempotency_key}@{host}>"


# --- what the configured server can take ------------------------------------------------------


class ServerReach:
    """MAIL_SMTPUTF8 = auto: the server is asked (EHLO) the first time it matters, and its
    answer is kept for the life of the process. The worker's own connections refresh it."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.offered: bool | None = None
        self._lock = threading.Lock()

    def takes_non_ascii_local_parts(self) -> bool:
        if self.offered is None:
            with self._lock:
                if self.offered is None:
                    self.offered = self._probe()
        # Unknown (the server is down): accept; the worker then fails that one e-mail, with
        # the reason, if the server turns out not to take it.
        return True if self.offered is None else self.offered

    def learned(self, offered: bool) -> None:
        self.offered = offered

    def _probe(self) -> bool | None:
        config = self.app.config
        host = config["MAIL_SERVER"]
        port = config.get("MAIL_PORT") or 25
        try:
            smtp: smtplib.SMTP
            if config.get("MAIL_USE_SSL"):
                smtp = smtplib.SMTP_SSL(host, port, timeout=PROBE_TIMEOUT_SECONDS)
            else:
                smtp = smtplib.SMTP(host, port, timeout=PROBE_TIMEOUT_SECONDS)
            with smtp:
                if config.get("MAIL_USE_TLS"):
                    smtp.starttls()  # what a server offers can change once the line is secure
                smtp.ehlo_or_helo_if_needed()
                return smtp.has_extn("smtputf8")
        except (smtplib.SMTPException, OSError) as exc:
            log.warning("couldn't ask %s:%s whether it takes SMTPUTF8: %r", host, port, exc)
            return None


def reach(app: Flask) -> MailReach:
    """Which addresses the configured mail server can deliver to (MAIL_SMTPUTF8: auto, yes,
    no). The development mailbox takes every address."""
    if not app.config.get("MAIL_SERVER"):
        return EVERY_ADDRESS
    setting = app.config.get("MAIL_SMTPUTF8", "auto")
    if setting == "yes":
        return EVERY_ADDRESS
    if setting == "no":
        return ASCII_ONLY
    found = app.extensions.get("portal.mail_reach")
    if found is None:
        found = app.extensions["portal.mail_reach"] = ServerReach(app)
    return found


# --- what a failure means to a person ---------------------------------------------------------


def _said(sentence: str, code: int, detail: bytes | str) -> str:
    text = detail.decode(errors="replace") if isinstance(detail, bytes) else str(detail)
    text = one_line(f"{code} {text}".strip())
    if len(text) > 200:
        text = text[:199] + "…"
    return f"{sentence} It said: “{text}”."


def describe(exc: BaseException) -> str:
    """A sentence a member can read on the invitation row. The exception itself goes to the
    log (the worker logs it with the item)."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code, detail = next(iter(exc.recipients.values()))
        if code >= 500:
            return _said("The mail server refused this address.", code, detail)
        return _said("The mail server can't take e-mail for this address just now.", code, detail)
    if isinstance(exc, smtplib.SMTPSenderRefused):
        return _said(
            "The mail server refused the portal's sender address; an administrator needs to "
            "check the mail settings.",
            exc.smtp_code,
            exc.smtp_error,
        )
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return (
            "The mail server didn't accept the portal's user name and password; an "
            "administrator needs to check the mail settings."
        )
    if isinstance(exc, smtplib.SMTPResponseException):
        if exc.smtp_code >= 500:
            return _said("The mail server refused this e-mail.", exc.smtp_code, exc.smtp_error)
        return _said(
            "The mail server can't take this e-mail just now.", exc.smtp_code, exc.smtp_error
        )
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return NON_ASCII_REFUSED  # the only extension we ask for
    if isinstance(exc, ConnectionRefusedError):
        return "The mail server refused the connection; is it running?"
    if isinstance(exc, (TimeoutError, socket.timeout)):
        return "The mail server did not answer in time."
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return "The mail server closed the connection."
    if isinstance(exc, ssl.SSLError):
        return "The portal couldn't set up a secure connection to the mail server."
    if isinstance(exc, OSError):
        return "The portal couldn't reach the mail server."
    if isinstance(exc, smtplib.SMTPException):
        return "The mail server answered in a way the portal didn't understand."
    return "Something went wrong on our side while sending this e-mail."


# --- building the message ---------------------------------------------------------------------

# Quoted-printable keeps lines under SMTP's 998-character limit (inlined HTML has long ones)
# while leaving plain text readable in the raw message.
_UTF8_QP = Charset("utf-8")
_UTF8_QP.body_encoding = QP
_SMTP_LINES = compat32.clone(linesep="\r\n")


def address_header(display_name: str, local_part: str, domain: str) -> str:
    """One address for a From/To header. email.headerregistry.Address refuses CR/LF in any
    part and quotes what needs quoting; the display name loses its control characters first,
    so a name stored before they were refused still can't start a header of its own."""
    address = Address(one_line(display_name), local_part, domain)
    if address.username.isascii():
        # RFC 2047 for a non-ASCII name; the domain is already in its IDNA form.
        return formataddr((address.display_name, address.addr_spec), charset="utf-8")
    # SMTPUTF8 (RFC 6532): the address travels as raw UTF-8. Surrogate escapes make the
    # classic email API write those bytes as they are.
    return str(address).encode().decode("ascii", "surrogateescape")


@functools.lru_cache(maxsize=16)
def sender_header(sender: str) -> tuple[str, str]:
    """The From header and the envelope sender for MAIL_DEFAULT_SENDER (worked out once)."""
    name, envelope_from = parseaddr(sender)
    local, _, domain = envelope_from.rpartition("@")
    return address_header(name, local, domain), envelope_from


def build_message(
    email: RenderedEmail, sender: str, msg_id: str, to: Transport | None = None
) -> bytes:
    """multipart/alternative (text, then HTML), built with the classic email API: Flask-Mail's
    Message goes through email.policy.SMTP's header parsing, which cost 3 ms an e-mail, most
    of the worker's time (bench/delivery.py). Every address goes through
    email.headerregistry.Address and the subject is one line: no text can add a header."""
    to = to or transport_address(email.to)
    # Our own boundary: left unset, the generator compiles a regex per message to make sure
    # its random one isn't in the text. "==" can't occur in quoted-printable (every "=" there
    # starts an escape or a soft break), so this one can never collide with a part.
    message = MIMEMultipart("alternative", boundary=f"==portal-{secrets.token_hex(8)}==")
    message.attach(MIMEText(email.text, "plain", _UTF8_QP))
    message.attach(MIMEText(email.html, "html", _UTF8_QP))
    if email.attachments:
        # multipart/mixed around the alternatives: mail clients show the text or the HTML
        # and offer each attachment (a calendar entry's "Add to calendar").
        alternatives = message
        message = MIMEMultipart("mixed", boundary=f"==portal-{secrets.token_hex(8)}==")
        message.attach(alternatives)
        for attachment in email.attachments:
            message.attach(_attachment_part(attachment))
    subject = one_line(email.subject)
    message["Subject"] = Header(subject, "us-ascii" if subject.isascii() else "utf-8")
    message["From"] = sender_header(sender)[0]
    message["To"] = address_header("", to.local_part, to.domain)
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = msg_id
    # smtplib passes bytes through as they are: the line ends must already be CRLF.
    return message.as_bytes(policy=_SMTP_LINES)


def _attachment_part(attachment: Attachment) -> MIMEBase:
    maintype, _, rest = attachment.content_type.partition("/")
    subtype, *params = (part.strip() for part in rest.split(";"))
    part = MIMEBase(maintype, subtype, **dict(p.split("=", 1) for p in params if "=" in p))
    part.set_payload(attachment.data)
    encoders.encode_base64(part)
    part.add_header("Content-Disposition", "attachment", filename=one_line(attachment.filename))
    return part


# --- sending ----------------------------------------------------------------------------------


def _line_broken(exc: BaseException) -> bool:
    """A socket error or a timeout (SMTPException is an OSError too, but an answer, not a
    broken line): where the dialogue stands is unknown, so a late answer could be read as
    RSET's. Only a new connection is safe."""
    return isinstance(exc, smtplib.SMTPServerDisconnected) or (
        isinstance(exc, OSError) and not isinstance(exc, smtplib.SMTPException)
    )


class EmailChannel:
    def __init__(self, app: Flask) -> None:
        self.app = app
        self.use_mailbox = not app.config.get("MAIL_SERVER")
        self.sender = app.config["MAIL_DEFAULT_SENDER"]
        self.envelope_from = sender_header(self.sender)[1]
        self.smtputf8_allowed = app.config.get("MAIL_SMTPUTF8", "auto") != "no"
        self._connection: Any = None
        self._mid_transaction = False

    def __enter__(self) -> EmailChannel:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._drop_connection()

    def send(self, session: Session, email: RenderedEmail, msg_id: str) -> None:
        if self.use_mailbox:
            session.add(
                DevMail(
                    recipient=email.to,
                    subject=one_line(email.subject),
                    text_body=email.text,
                    html_body=email.html,
                    message_id=msg_id,
                    created_at=utcnow(),
                )
            )
            return
        try:
            to = transport_address(email.to)
        except Undeliverable as exc:
            raise PermanentFailure(
                f"{one_line(email.to)} isn't an address e-mail can be sent to: {exc}"
            ) from exc
        host = self._host()
        options: list[str] = []
        if to.needs_smtputf8:
            if not (self.smtputf8_allowed and host.has_extn("smtputf8")):
                # Stored before addresses were checked against the server: this one can't go,
                # and nothing has been said to the server about it.
                raise PermanentFailure(NON_ASCII_REFUSED)
            options.append("SMTPUTF8")
        self._mid_transaction = True
        try:
            raw = build_message(email, self.sender, msg_id, to)
            host.sendmail(self.envelope_from, [to.addr_spec], raw, mail_options=options)
        except BaseException as exc:
            if _line_broken(exc):
                self._drop_connection()
            self.reset()
            if isinstance(exc, smtplib.SMTPRecipientsRefused):
                code = next(iter(exc.recipients.values()))[0]
                failure = PermanentFailure if code >= 500 else DeliveryFailed
            elif isinstance(exc, smtplib.SMTPResponseException):
                failure = PermanentFailure if exc.smtp_code >= 500 else DeliveryFailed
            elif isinstance(exc, smtplib.SMTPNotSupportedError):
                failure = PermanentFailure
            elif isinstance(exc, (smtplib.SMTPException, OSError)):
                failure = DeliveryFailed
            else:
                raise  # a bug, not a delivery problem: the worker logs it
            raise failure(describe(exc)) from exc
        self._mid_transaction = False

    def reset(self) -> None:
        """Back to the start of a transaction after a failed message (the server may have
        taken MAIL FROM and be waiting for RCPT or DATA): RSET, or drop the connection so the
        next message opens a new one."""
        if not self._mid_transaction or self._connection is None:
            self._mid_transaction = False
            return
        self._mid_transaction = False
        try:
            code, _ = self._connection.host.rset()
        except (smtplib.SMTPException, OSError):
            code = 0
        if code != 250:
            self._drop_connection()

    def _host(self) -> smtplib.SMTP:
        if self._connection is None:
            connection = mail.connect()  # Flask-Mail's settings and connection handling
            try:
                connection.__enter__()
                self._connection = connection
                connection.host.ehlo_or_helo_if_needed()  # so has_extn knows the answer
            except (smtplib.SMTPException, OSError) as exc:
                self._drop_connection()
                raise DeliveryFailed(describe(exc)) from exc
            found = reach(self.app)
            if isinstance(found, ServerReach):
                found.learned(connection.host.has_extn("smtputf8"))
        return self._connection.host

    def _drop_connection(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                connection.__exit__(None, None, None)
