"""What an invitation says: Danish messages rendered from Jinja2 templates, and the e-mail.

The promise: an invitation says only that a volunteer's profile may fit a study, never a health
detail nor which criteria were met. So a template sees exactly the fields of ``InvitationContext``
and nothing else. A template naming anything more is refused when it is loaded (even inside a
branch that would not be taken), rendering is strict about undefined names, and the sandbox keeps
templates away from Python internals.

Templates: ``invitation.subject.j2``, ``invitation.txt.j2``, ``invitation.html.j2`` and
``invitation.sms.j2``, and the same four ``reminder.*`` for the one reminder of an invitation
left unanswered (``outreach.reminders``). With ``template_dir`` each is looked up in
``template_dir/<study_id>/``, then ``template_dir/``, then the packaged defaults, so a study
may override only some of them.
Only the HTML template is autoescaped.

With an answer link in the context (``PANEL_PUBLIC_URL`` is set), every body, plain text, HTML
and SMS, must show it: a template that leaves it out is refused when rendering, so no
invitation goes out without its link.
"""

from __future__ import annotations

import email.policy
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import (
    BaseLoader,
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    StrictUndefined,
    UndefinedError,
    meta,
    select_autoescape,
)
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

from outreach.errors import MessageError

#: The packaged default templates.
DEFAULT_TEMPLATES = Path(__file__).parent / "templates"
#: The four templates of an invitation, by part: ``invitation.<part>.j2``.
PARTS = ("subject", "txt", "html", "sms")
#: The kinds of message, each with its four templates: ``<kind>.<part>.j2``.
KINDS = ("invitation", "reminder")
#: The parts that must show the answer link when there is one: every body.
LINKED_PARTS = ("txt", "html", "sms")
#: As ``StudyDefinition.id`` (schemas.study): also keeps an id a single, safe folder name.
_STUDY_ID = re.compile(r"[a-z0-9][a-z0-9-]{1,63}")
_MESSAGE_ID = re.compile(r"<[^<>@\s]+@[^<>@\s]+>")


@dataclass(frozen=True)
class InvitationContext:
    """Everything a message may say. Nothing else reaches a template: no health data by
    construction."""

    first_name: str
    organiser: str  # who runs the study, e.g. "Neurologisk Afdeling, Aarhus Universitetshospital"
    invitation_title: str  # a neutral name of the study for volunteers, never the researchers'
    involves: str  # what taking part involves, in plain Danish, written by the researchers
    reply_to: str  # e-mail address to reply to
    stop_contact: str  # how to stop all contact from the panel (e.g. reply STOP / a web address)
    panel_name: str = "Sundhedspanelet"
    #: The volunteer's personal answer link (``PANEL_PUBLIC_URL/svar/<token>``: nothing about
    #: the study or the person in it); None when the panel has no public address.
    answer_link: str | None = None


#: The only names a template may use (besides Jinja's harmless globals such as ``range``).
CONTEXT_FIELDS = frozenset(field.name for field in fields(InvitationContext))


@dataclass(frozen=True)
class RenderedInvitation:
    subject: str  # one line, no newlines
    text: str  # plain text body
    html: str  # HTML body: a full small document, inline-styled
    sms: str  # short SMS text, one paragraph


class _ContextOnlyLoader(BaseLoader):
    """Loads through ``inner``, refusing a template that names anything outside the context."""

    def __init__(self, inner: BaseLoader) -> None:
        self.inner = inner

    def get_source(
        self, environment: Environment, template: str
    ) -> tuple[str, str | None, Callable[[], bool] | None]:
        source, filename, uptodate = self.inner.get_source(environment, template)
        used = meta.find_undeclared_variables(environment.parse(source, template, filename))
        unknown = sorted(used - CONTEXT_FIELDS - environment.globals.keys())
        if unknown:
            raise MessageError(
                f"invitation template {template!r} ({filename}) uses {', '.join(unknown)}, "
                f"which is not in the invitation context; a template may use only "
                f"{', '.join(sorted(CONTEXT_FIELDS))}",
                template=template,
            )
        return source, filename, uptodate


@lru_cache(maxsize=32)
def _environment(template_dir: Path | None) -> Environment:
    loaders: list[BaseLoader] = [FileSystemLoader(DEFAULT_TEMPLATES)]
    if template_dir is not None:
        loaders.insert(0, FileSystemLoader(template_dir))
    return ImmutableSandboxedEnvironment(
        loader=_ContextOnlyLoader(ChoiceLoader(loaders)),
        undefined=StrictUndefined,
        autoescape=select_autoescape(
            enabled_extensions=("html.j2",), default_for_string=False, default=False
        ),
        keep_trailing_newline=True,
    )


def _render(env: Environment, study_id: str, part: str, values: dict[str, Any], kind: str) -> str:
    name = f"{kind}.{part}.j2"
    template = env.select_template([f"{study_id}/{name}", name])
    try:
        return template.render(values)
    except (UndefinedError, SecurityError) as error:
        raise MessageError(
            f"invitation template {template.name!r} ({template.filename}) for study "
            f"{study_id!r}: {error.message}; a template may use only "
            f"{', '.join(sorted(CONTEXT_FIELDS))}",
            template=template.name,
            study_id=study_id,
        ) from error


def render_invitation(
    study_id: str,
    context: InvitationContext,
    template_dir: Path | None = None,
    kind: str = "invitation",
) -> RenderedInvitation:
    """The invitation's subject, plain text, HTML and SMS for one volunteer; with ``kind``
    ``reminder``, its reminder's (``reminder.<part>.j2``, the same context and rules).

    Raises ``MessageError`` (a ``ValueError``) for a malformed study id, a template naming
    anything outside the context or reaching behind it (the message names the template and
    what it used), or, when the context has an answer link, a body template that leaves it out.
    """
    if not _STUDY_ID.fullmatch(study_id):
        raise MessageError(f"not a study id: {study_id!r}")
    env = _environment(template_dir)
    values = asdict(context)
    if kind not in KINDS:
        raise MessageError(f"not a kind of message: {kind!r}")
    parts = {part: _render(env, study_id, part, values, kind) for part in PARTS}
    if context.answer_link is not None:
        for part in LINKED_PARTS:
            if context.answer_link not in parts[part]:
                name = f"{kind}.{part}.j2"
                template = env.select_template([f"{study_id}/{name}", name])
                raise MessageError(
                    f"invitation template {template.name!r} ({template.filename}) for study "
                    f"{study_id!r} does not show answer_link: with PANEL_PUBLIC_URL set, every "
                    "invitation carries its answer link (write {{ answer_link }} in it)",
                    template=template.name,
                    study_id=study_id,
                )
    return RenderedInvitation(
        subject=" ".join(parts["subject"].split()),
        text=parts["txt"],
        html=parts["html"],
        sms=" ".join(parts["sms"].split()),
    )


def _list_unsubscribe(target: str) -> str:
    """``<mailto:...>`` or ``<https://...>`` (RFC 2369) from an address or URL."""
    target = target.strip().removeprefix("<").removesuffix(">")
    if "@" in target and ":" not in target:
        target = f"mailto:{target}"
    if not re.fullmatch(r"(mailto:|https?://)[^<>\s]+", target, flags=re.IGNORECASE):
        raise MessageError(f"List-Unsubscribe needs a mailto address or a URL, not {target!r}")
    return f"<{target}>"


def build_email(
    rendered: RenderedInvitation,
    *,
    to: str,
    sender: str,
    reply_to: str,
    message_id: str,
    date: datetime,
    unsubscribe: str | None = None,
) -> EmailMessage:
    """The invitation as an e-mail: multipart/alternative, plain text then HTML, UTF-8.

    ``message_id`` is used as given, angle brackets included (``<inv-...@panelmatch.local>``);
    ``date`` must be timezone-aware. No ``Auto-Submitted``: these are personal invitations.
    """
    if date.utcoffset() is None:
        raise MessageError("the date of an e-mail must be timezone-aware")
    if not _MESSAGE_ID.fullmatch(message_id):
        raise MessageError(f"a Message-ID looks like <local@domain>, not {message_id!r}")
    message = EmailMessage(policy=email.policy.SMTP)
    # The policy refuses header values with line breaks, so no header can be injected.
    message["From"] = sender
    message["To"] = to
    message["Reply-To"] = reply_to
    message["Subject"] = rendered.subject
    message["Date"] = format_datetime(date)
    message["Message-ID"] = message_id
    if unsubscribe is not None:
        message["List-Unsubscribe"] = _list_unsubscribe(unsubscribe)
    message.set_content(rendered.text, subtype="plain", charset="utf-8", cte="quoted-printable")
    message.add_alternative(rendered.html, subtype="html", charset="utf-8", cte="quoted-printable")
    # After add_alternative, which moves Content-* headers into the first part.
    message["Content-Language"] = "da"
    return message
