"""SMTP delivery (the mail shell): build a multipart/alternative message and send it, retrying
temporary failures (4xx answers, dropped or refused connections) with a growing delay."""

from __future__ import annotations

import logging
import os
import smtplib
import ssl
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid

from feedwatch.errors import DeliveryError
from feedwatch.textsafe import header_value
from feedwatch.types import SmtpConfig

log = logging.getLogger("feedwatch.mail")

PASSWORD_ENV = "FEEDWATCH_SMTP_PASSWORD"


def build_message(
    *,
    subject: str,
    text: str,
    html: str,
    sender: str,
    to: Sequence[str],
    cc: Sequence[str] = (),
    date: datetime,
    message_id: str | None = None,
) -> EmailMessage:
    """A multipart/alternative message (plain text first, HTML second) with safe headers."""
    msg = EmailMessage(policy=SMTP)
    msg["Subject"] = header_value(subject, 250)
    msg["From"] = header_value(sender)
    msg["To"] = ", ".join(header_value(a) for a in to)
    if cc:
        msg["Cc"] = ", ".join(header_value(a) for a in cc)
    msg["Date"] = format_datetime(date)
    msg["Message-ID"] = header_value(message_id) if message_id else make_msgid("feedwatch")
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(text, subtype="plain", charset="utf-8")
    msg.add_alternative(html, subtype="html", charset="utf-8")
    return msg


def _temporary(exc: BaseException) -> bool:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _msg in exc.recipients.values()]
        return bool(codes) and all(400 <= c < 500 for c in codes)
    if isinstance(exc, smtplib.SMTPResponseException):
        return 400 <= exc.smtp_code < 500
    if isinstance(exc, smtplib.SMTPServerDisconnected | ConnectionError | TimeoutError):
        return True
    return isinstance(exc, OSError) and not isinstance(exc, ssl.SSLCertVerificationError)


def _send_once(
    msg: EmailMessage, cfg: SmtpConfig, password: str | None, context: ssl.SSLContext | None
) -> None:
    smtp: smtplib.SMTP
    if cfg.security == "tls":
        smtp = smtplib.SMTP_SSL(
            cfg.host, cfg.port, timeout=cfg.timeout, context=context or ssl.create_default_context()
        )
    else:
        smtp = smtplib.SMTP(cfg.host, cfg.port, timeout=cfg.timeout)
    with smtp:
        smtp.ehlo()
        if cfg.security == "starttls":
            smtp.starttls(context=context or ssl.create_default_context())
            smtp.ehlo()
        if cfg.user:
            if password is None:
                raise DeliveryError(
                    f"SMTP user {cfg.user!r} is set but {PASSWORD_ENV} is not", temporary=False
                )
            smtp.login(cfg.user, password)
        refused = smtp.send_message(msg)
        if refused:
            log.warning("mail: some recipients were refused: %s", ", ".join(sorted(refused)))


def send(
    msg: EmailMessage,
    cfg: SmtpConfig,
    *,
    environ: Mapping[str, str] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    context: ssl.SSLContext | None = None,
) -> int:
    """Send `msg`; retry temporary failures `cfg.retries` times. Returns the attempts made.
    Raises DeliveryError (with `temporary`) when it could not be delivered."""
    env = os.environ if environ is None else environ
    password = env.get(PASSWORD_ENV) or None
    delay = cfg.retry_delay
    attempt = 0
    while True:
        attempt += 1
        try:
            _send_once(msg, cfg, password, context)
            return attempt
        except DeliveryError:
            raise
        except (smtplib.SMTPException, OSError) as exc:
            temporary = _temporary(exc)
            where = f"{cfg.host}:{cfg.port}"
            text = f"SMTP {where}: {type(exc).__name__}: {exc}"
            if not temporary or attempt > cfg.retries:
                raise DeliveryError(
                    text + ("" if temporary else " (permanent)"), temporary=temporary
                ) from exc
            log.warning("mail: attempt %d failed (%s); retrying in %.0f s", attempt, text, delay)
            sleep(delay)
            delay *= 2
