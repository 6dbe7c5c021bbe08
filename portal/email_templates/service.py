"""Organisations' own invitation e-mails: list, create, edit, duplicate, delete, the default.

Plain functions over a session: no Flask, no commit. Changing templates is for those who
may manage settings; reading them (to pick one when sending) is for any member.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from portal.audit import service as audit
from portal.email_templates import sandbox
from portal.errors import Conflict, Invalid, NotFound
from portal.lookups import find_in_org, get_in_org
from portal.models import EmailTemplate, Invitation, Member
from portal.policy import may_manage_settings, require
from portal.validation import text_problem

MAX_NAME = 120
MAX_SUBJECT = 300
MAX_BODY = 20000
# An organisation's templates are few; the list is capped rather than paginated.
MAX_TEMPLATES = 200

# What "New template" starts from: the built-in e-mail's wording, as placeholders.
STARTER_SUBJECT = "{{ inviter_name }} invited you to join {{ organization_name }}"
STARTER_BODY = """\
Hello {{ invitee_name | default("there") }},

{{ inviter_name }} invited you to join {{ organization_name }}.
{% if personal_message %}

{{ personal_message }}
{% endif %}
{% if organization_description %}

{{ organization_description }}
{% endif %}

We look forward to welcoming you.
"""


_AUDITED = ("name", "subject", "body")


def _target(template: EmailTemplate) -> audit.Target:
    return audit.Target("template", template.public_id, template.name)


@dataclass(frozen=True)
class TemplateInput:
    name: str
    subject: str
    body: str


# --- reading ------------------------------------------------------------------------------


# The send form reads it on every dashboard request: built once, not per request.
_TEMPLATES_OF = (
    select(EmailTemplate)
    .where(EmailTemplate.organization_id == bindparam("organization_id"))
    .order_by(EmailTemplate.name, EmailTemplate.id)
    .limit(MAX_TEMPLATES)
)


def list_templates(session: Session, organization_id: int) -> Sequence[EmailTemplate]:
    return session.exec(_TEMPLATES_OF, params={"organization_id": organization_id}).all()


def find(session: Session, organization_id: int, public_id: str) -> EmailTemplate | None:
    """A template of this organisation by its public id; another organisation's is None."""
    return find_in_org(session, EmailTemplate, organization_id, public_id)


def get(session: Session, actor: Member, public_id: str) -> EmailTemplate:
    return get_in_org(session, EmailTemplate, actor.organization_id, public_id)


def pick_default(templates: Sequence[EmailTemplate]) -> EmailTemplate | None:
    """The default among `templates`. There is at most one, but should a race ever leave
    two, the most recently chosen wins, here and in default_template alike."""
    defaults = [t for t in templates if t.is_default]
    return max(defaults, key=lambda t: (t.updated_at, t.id or 0), default=None)


def default_template(session: Session, organization_id: int) -> EmailTemplate | None:
    return session.exec(
        select(EmailTemplate)
        .where(EmailTemplate.organization_id == organization_id, EmailTemplate.is_default)
        .order_by(col(EmailTemplate.updated_at).desc(), col(EmailTemplate.id).desc())
        .limit(1)
    ).first()


def defaults_for(
    session: Session, organization_ids: Collection[int]
) -> dict[int, EmailTemplate | None]:
    """Each organisation's default template (or None), in one query for them all."""
    found = session.exec(
        select(EmailTemplate).where(
            col(EmailTemplate.organization_id).in_(organization_ids), EmailTemplate.is_default
        )
    ).all()
    return {
        org_id: pick_default([t for t in found if t.organization_id == org_id])
        for org_id in organization_ids
    }


def template_for(
    session: Session,
    invitation: Invitation,
    defaults: Mapping[int, EmailTemplate | None] | None = None,
) -> EmailTemplate | None:
    """The wording an invitation is sent with: its own template, else the organisation's
    default, else None (the built-in e-mail). `defaults` (from defaults_for, for a batch of
    invitations) saves the query for the default."""
    if invitation.template_id is not None:
        template = session.get(EmailTemplate, invitation.template_id)
        if template is not None and template.organization_id == invitation.organization_id:
            return template
    if defaults is not None and invitation.organization_id in defaults:
        return defaults[invitation.organization_id]
    return default_template(session, invitation.organization_id)


# --- changing -----------------------------------------------------------------------------


def _validate(
    session: Session, organization_id: int, values: TemplateInput, exclude_id: int | None
) -> TemplateInput:
    """Refuse everything wrong at once: Invalid carries `problems` (field → messages)."""
    name, subject, body = values.name.strip(), values.subject.strip(), values.body.strip()
    problems: dict[str, list[str]] = {}
    if problem := text_problem(name, what="A template name"):
        problems["name"] = [problem]
    elif not name:
        problems["name"] = ["Give the template a name."]
    elif len(name) > MAX_NAME:
        problems["name"] = [f"At most {MAX_NAME} characters."]
    elif _name_taken(session, organization_id, name, exclude_id):
        problems["name"] = [f"There is already a template named “{name}”."]
    problems.update(content_problems(subject, body))
    if problems:
        field, messages = next(iter(problems.items()))
        raise Invalid(messages[0], field=field, problems=problems)
    return TemplateInput(name=name, subject=subject, body=body)


def content_problems(subject: str, body: str) -> dict[str, list[str]]:
    """What is wrong with a subject and body (field → messages); empty when they can be used.
    Saving and the live preview both ask here."""
    subject, body = subject.strip(), body.strip()
    problems: dict[str, list[str]] = {}
    if problem := text_problem(subject, what="The subject"):
        problems["subject"] = [problem]  # the subject is an e-mail header: one line only
    elif not subject:
        problems["subject"] = ["Write a subject."]
    elif len(subject) > MAX_SUBJECT:
        problems["subject"] = [f"At most {MAX_SUBJECT} characters."]
    elif found := sandbox.check(subject, subject=True):
        # The subject is one line: its line number would say nothing.
        problems["subject"] = [_sentence(p.message) for p in found]
    if problem := text_problem(body, what="The message", multiline=True):
        problems["body"] = [problem]
    elif not body:
        problems["body"] = ["Write the message."]
    elif len(body) > MAX_BODY:
        problems["body"] = [f"At most {MAX_BODY:,} characters."]
    elif found := sandbox.check(body):
        problems["body"] = [str(p) for p in found]
    return problems


def _sentence(message: str) -> str:
    return message[:1].upper() + message[1:]


def _name_taken(session: Session, organization_id: int, name: str, exclude_id: int | None) -> bool:
    query = select(EmailTemplate.id).where(
        EmailTemplate.organization_id == organization_id,
        func.lower(EmailTemplate.name) == name.lower(),
    )
    if exclude_id is not None:
        query = query.where(EmailTemplate.id != exclude_id)
    return session.exec(query.limit(1)).first() is not None


def create(session: Session, actor: Member, values: TemplateInput, now: datetime) -> EmailTemplate:
    require(may_manage_settings(actor))
    clean = _validate(session, actor.organization_id, values, exclude_id=None)
    template = EmailTemplate(
        organization_id=actor.organization_id,
        name=clean.name,
        subject=clean.subject,
        body=clean.body,
        created_at=now,
        updated_at=now,
    )
    session.add(template)
    session.flush()
    audit.record(
        session,
        actor,
        "template.created",
        _target(template),
        after=audit.snapshot(template, _AUDITED),
        now=now,
    )
    return template


def update_template(
    session: Session, actor: Member, template: EmailTemplate, values: TemplateInput, now: datetime
) -> EmailTemplate:
    require(may_manage_settings(actor))
    _same_org(actor, template)
    clean = _validate(session, actor.organization_id, values, exclude_id=template.id)
    before = audit.snapshot(template, _AUDITED)
    template.name, template.subject, template.body = clean.name, clean.subject, clean.body
    template.updated_at = now
    session.add(template)
    audit.record(
        session,
        actor,
        "template.updated",
        _target(template),
        before=before,
        after=audit.snapshot(template, _AUDITED),
        now=now,
    )
    return template


def duplicate(
    session: Session, actor: Member, template: EmailTemplate, now: datetime
) -> EmailTemplate:
    """A copy to edit (never the default), named "Copy of …" with a number if taken."""
    require(may_manage_settings(actor))
    _same_org(actor, template)
    base = f"Copy of {template.name}"[:MAX_NAME]
    name, n = base, 1
    while _name_taken(session, actor.organization_id, name, exclude_id=None):
        n += 1
        suffix = f" ({n})"
        name = base[: MAX_NAME - len(suffix)] + suffix
    copy = EmailTemplate(
        organization_id=actor.organization_id,
        name=name,
        subject=template.subject,
        body=template.body,
        created_at=now,
        updated_at=now,
    )
    session.add(copy)
    session.flush()
    audit.record(
        session,
        actor,
        "template.duplicated",
        _target(copy),
        after={"copied_from": template.name, **audit.snapshot(copy, _AUDITED)},
        now=now,
    )
    return copy


def delete(session: Session, actor: Member, template: EmailTemplate, now: datetime) -> None:
    """Invitations that named it fall back to the default wording (their e-mails, resends
    included, are rendered when delivered); if it was the default, the built-in one is."""
    require(may_manage_settings(actor))
    _same_org(actor, template)
    session.execute(
        update(Invitation).where(Invitation.template_id == template.id).values(template_id=None)
    )
    audit.record(
        session,
        actor,
        "template.deleted",
        _target(template),
        before={**audit.snapshot(template, _AUDITED), "is_default": template.is_default},
        now=now,
    )
    session.delete(template)
    session.flush()


def set_default(
    session: Session, actor: Member, template: EmailTemplate | None, now: datetime
) -> None:
    """Make `template` the organisation's default, or none (the built-in e-mail)."""
    require(may_manage_settings(actor))
    if template is not None:
        _same_org(actor, template)
    previous = default_template(session, actor.organization_id)
    # Clear, then set: the unique index on (organization_id) WHERE is_default is checked
    # row by row, so flipping both rows in one UPDATE could trip over itself.
    session.execute(
        update(EmailTemplate)
        .where(EmailTemplate.organization_id == actor.organization_id, EmailTemplate.is_default)
        .values(is_default=False)
    )
    if template is not None:
        name = template.name
        try:
            session.execute(
                update(EmailTemplate)
                .where(EmailTemplate.id == template.id)
                .values(is_default=True, updated_at=now)
            )
        except IntegrityError as exc:
            # Two admins choosing at once (PostgreSQL): the other one's default, committed
            # after our clear ran, holds the unique index. Theirs stands; ours is refused.
            raise Conflict(
                f"Another admin chose a different default template at the same moment, so "
                f"“{name}” was not made the default. The list shows the default now; choose "
                "again if you still want this one.",
                template=name,
            ) from exc
        session.refresh(template)
    audit.record(
        session,
        actor,
        "template.default_changed",
        _target(template or previous) if (template or previous) else _BUILT_IN,
        before={"default": _default_label(previous)},
        after={"default": _default_label(template)},
        now=now,
    )


_BUILT_IN = audit.Target("template", "", "The built-in e-mail")


def _default_label(template: EmailTemplate | None) -> str:
    return f"{template.name} ({template.public_id})" if template else "the built-in e-mail"


def _same_org(actor: Member, template: EmailTemplate) -> None:
    if template.organization_id != actor.organization_id:
        raise NotFound("There is no such e-mail template.")
