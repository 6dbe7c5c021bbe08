"""The API's contract, declared once: every request body, query and answer as a Pydantic model.

The views validate requests with these models and build their answers from them, and
openapi.py generates the published document from the same models, so the three can't drift.
Field names are snake_case here and camelCase on the wire (the aliases); unknown fields are
refused. A field's checks that no service makes (characters, id lengths, a parameter's
format) are validators here, with the sentences the API has always answered; the rules a
service owns (an address's syntax, a name's length) stay in the service and are only
*described* here (`json_schema_extra`), so they are stated once and shared with the web.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
)
from pydantic.alias_generators import to_camel
from pydantic.json_schema import SkipJsonSchema
from pydantic_core import PydanticCustomError

from portal.api import queries
from portal.audit import queries as audit_queries
from portal.audit.service import ACTIONS, CHANNELS
from portal.email_addresses import MAX_LENGTH as EMAIL_MAX
from portal.email_addresses import normalise_email
from portal.errors import DomainError, problem_kinds
from portal.events import service as event_rules
from portal.invites.service import MAX_MESSAGE, MAX_NAME, MAX_PART_NAME
from portal.roles import MemberStatus
from portal.validation import text_problem
from portal.webhooks.service import rfc3339

# Lengths of the ids a body may carry (checked here: no service measures ids).
ID_MAX_LENGTH = 40  # public ids: "iv-"/"mb-"/"tpl-" and 32 hex digits
INVITE_SECRET_MAX_LENGTH = 100  # the link's secret: 43 characters today, room to grow
PASSWORD_MAX_LENGTH = 1024


class ApiModel(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        strict=True,
        frozen=True,
    )


def refusal(message: str) -> PydanticCustomError:
    """A validation error whose message is exactly `message` (the API's own sentence)."""
    return PydanticCustomError("invalid", "{message}", {"message": message})


# --- request fields --------------------------------------------------------------------------


def _text(what: str, multiline: bool, max_length: int | None) -> Callable[[Any], Any]:
    """Checks a string's characters (see portal.validation), then its length when the
    boundary owns it. Runs before the type check, which still refuses a non-string."""

    def check(value: Any) -> Any:
        if isinstance(value, str):
            if problem := text_problem(value, what=what, multiline=multiline):
                raise refusal(problem)
            if max_length is not None and len(value) > max_length:
                raise refusal(f"{what} can be at most {max_length} characters.")
        return value

    return check


def Text(  # noqa: N802 (a type factory, read as a type)
    what: str,
    *,
    description: str | None = None,
    multiline: bool = False,
    max_length: int | None = None,
    documented_max: int | None = None,
    email: bool = False,
) -> Any:
    """A string field of a body: `what` names it in messages ("A name"). `max_length` is
    checked here; `documented_max` is a service's limit, only published."""
    schema: dict[str, Any] = {}
    if email:
        schema["format"] = "email"
    if documented_max is not None:
        schema["maxLength"] = documented_max
    return Annotated[
        str,
        BeforeValidator(_text(what, multiline, max_length)),
        Field(max_length=max_length, description=description, json_schema_extra=schema or None),
    ]


class NewInvite(ApiModel):
    email: Text("An e-mail address", email=True, documented_max=EMAIL_MAX) = Field(
        description="Who to invite."
    )
    full_name: Text("A name", documented_max=MAX_NAME) | None = Field(
        None, description="Defaults to firstName and lastName."
    )
    first_name: Text("A first name", documented_max=MAX_PART_NAME) | None = Field(
        None, description="The invitee's first name."
    )
    last_name: Text("A last name", documented_max=MAX_PART_NAME) | None = Field(
        None, description="The invitee's last name."
    )
    message: Text("The personal message", multiline=True, documented_max=MAX_MESSAGE) | None = (
        Field(None, description="A personal message in the e-mail.")
    )
    template_id: Text("A template id", max_length=ID_MAX_LENGTH) | None = Field(
        None,
        description="An e-mail template (`tpl-…`); default: the organisation's default template.",
    )
    inviter_id: Text("A member id", max_length=ID_MAX_LENGTH) | None = Field(
        None,
        description="The member who invites (`mb-…`); default: the token's owner. Another "
        "member needs the invite-on-behalf scope.",
    )


class NewMember(ApiModel):
    invite_id: Text("An invitation id", max_length=INVITE_SECRET_MAX_LENGTH) = Field(
        description="The secret from the invitation link (its invite_id parameter)."
    )
    email: Text("An e-mail address", email=True, documented_max=EMAIL_MAX) = Field(
        description="Must be the invited address when the organisation binds it."
    )
    full_name: Text("A name", documented_max=MAX_NAME)
    # A new password: an invisible control character in it would make it one nobody types.
    password: Text("A password", documented_max=PASSWORD_MAX_LENGTH) | None = Field(
        None,
        description="At least 8 characters; leave out (or null) for members who sign in "
        "through another system.",
    )
    answers: dict[str, str | bool] | None = Field(
        None,
        description="The registration form's answers, by question id (`rq-…`): text (a date "
        "as YYYY-MM-DD, a choice as one of its options) or true/false for a checkbox.",
    )
    reason: Text("Your answer", multiline=True, documented_max=2000) | None = Field(
        None,
        description="“Why do you want to join?”, when the organisation asks it of applicants.",
    )


# --- query parameters ------------------------------------------------------------------------


def _one_of(choices: Any, message: str) -> BeforeValidator:
    def check(value: Any) -> Any:
        if value not in choices:
            raise refusal(message)
        return value

    return BeforeValidator(check)


def _whole_number(most: int) -> BeforeValidator:
    def check(value: Any) -> int:
        if not (isinstance(value, str) and value.isascii() and value.isdigit()):
            raise refusal(f"Use a whole number from 1 to {most}.")
        if not 1 <= int(value) <= most:
            raise refusal(f"Use a whole number from 1 to {most}.")
        return int(value)

    return BeforeValidator(check)


def _moment(value: Any) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is None:
            raise ValueError(value)
        return moment.astimezone(UTC)
    except (TypeError, ValueError, OverflowError):
        raise refusal(
            "Use an RFC 3339 timestamp with a time zone, such as 2026-01-01T10:00:00Z."
        ) from None


def _domain_check(check: Callable[[str], Any]) -> BeforeValidator:
    """A service's own parsing (an address, a cursor), its refusal as the field's error."""

    def run(value: Any) -> Any:
        try:
            return check(value)
        except DomainError as error:
            raise refusal(error.message) from None

    return BeforeValidator(run)


def _checked_cursor(value: str) -> str:
    queries.decode_cursor(value)
    return value


def _checked_audit_cursor(value: str) -> str:
    audit_queries.decode_cursor(value)
    return value


Moment = Annotated[datetime, BeforeValidator(_moment)]


def Limit(most: int) -> Any:  # noqa: N802
    return Annotated[int, Field(ge=1, le=most), _whole_number(most)]


InviteStatus = Literal[tuple(queries.STATUS_BUCKETS)]


class InviteListQuery(ApiModel):
    status: (
        Annotated[
            InviteStatus,
            _one_of(queries.STATUS_BUCKETS, f"Use one of {', '.join(queries.STATUS_BUCKETS)}."),
        ]
        | None
    ) = Field(None, description="Only this status.")
    email: (
        Annotated[
            str,
            _domain_check(normalise_email),
            WithJsonSchema({"type": "string", "format": "email"}),
        ]
        | None
    ) = Field(None, description="Only invitations to this address.")
    inviter_id: str | None = Field(
        None, description="Only invitations sent by this member (`mb-…`)."
    )
    created_after: Moment | None = Field(
        None, description="Only invitations created at or after this time (RFC 3339)."
    )
    created_before: Moment | None = Field(
        None, description="Only invitations created before this time (RFC 3339)."
    )
    limit: Limit(queries.MAX_LIMIT) = Field(
        queries.DEFAULT_LIMIT, description=f"Page size, at most {queries.MAX_LIMIT}."
    )
    cursor: Annotated[str, _domain_check(_checked_cursor)] | None = Field(
        None, description="The previous page's nextCursor."
    )

    def filters(self) -> queries.InviteFilters:
        return queries.InviteFilters(
            **self.model_dump(exclude={"limit", "cursor"}, exclude_none=True)
        )


class AuditListQuery(ApiModel):
    action: (
        Annotated[
            Literal[tuple(ACTIONS)],
            _one_of(ACTIONS, "There is no such action. The actions are listed at /api/docs."),
        ]
        | None
    ) = Field(None, description="Only this action.")
    actor_id: str | None = Field(None, description="Only changes made by this member (`mb-…`).")
    created_after: Moment | None = Field(
        None, description="Only changes at or after this time (RFC 3339)."
    )
    created_before: Moment | None = Field(
        None, description="Only changes before this time (RFC 3339)."
    )
    limit: Limit(audit_queries.MAX_LIMIT) = Field(
        audit_queries.DEFAULT_LIMIT, description=f"Page size, at most {audit_queries.MAX_LIMIT}."
    )
    cursor: Annotated[str, _domain_check(_checked_audit_cursor)] | None = Field(
        None, description="The previous page's nextCursor."
    )


# --- answers ---------------------------------------------------------------------------------

Timestamp = Annotated[
    datetime,
    PlainSerializer(rfc3339),  # RFC 3339 in UTC with a Z, as the webhooks write it
    WithJsonSchema({"type": "string", "format": "date-time", "description": "RFC 3339, UTC (Z)."}),
]
MemberId = Annotated[str, Field(description="A member's public id (`mb-…`).")]


class Delivery(ApiModel):
    status: Literal["queued", "sent", "failed"]
    last_error: str | None = Field(description="Why the last attempt failed.")


class Invite(ApiModel):
    """An invitation."""

    id: str = Field(description="Public id (`iv-…`).")
    created_at: Timestamp
    updated_at: Timestamp
    invited_at: Timestamp = Field(description="When it was last sent (a resend moves it).")
    linked_at: Timestamp | None = Field(description="When the invitee joined.")
    expires_at: Timestamp
    full_name: str
    first_name: str
    last_name: str
    email: str
    template_id: str | None = Field(description="E-mail template (`tpl-…`).")
    inviter_id: MemberId
    user_id: MemberId | None = Field(description="The member who joined through it.")
    status: InviteStatus
    delivery: Delivery
    reminded_at: Timestamp | None = Field(
        description="When the organisation's automatic reminder e-mail was queued for the "
        "invitee (at most once per invitation; it carries a fresh link and keeps the expiry)."
    )
    source: Literal["email", "link", "event"] = Field(
        description="How it reached the invitee: an e-mail, the inviter's share link, or an "
        "event the inviter brought them to as a guest (a join through a link or an event is "
        "recorded as a LINKED invitation)."
    )


class CreatedInvite(Invite):
    """A new invitation, with its link (shown this once only)."""

    invite_landing_page_url: str = Field(
        description="The invitee's join link. It carries the secret, which the portal stores "
        "only as a digest: it is never shown again.",
        json_schema_extra={"format": "uri"},
    )


class InviteList(ApiModel):
    data: list[Invite] = Field(max_length=queries.MAX_LIMIT)
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null at the end."
    )


class Inviter(ApiModel):
    id: MemberId
    full_name: str


class Member(ApiModel):
    """A member."""

    id: MemberId
    email: str
    full_name: str
    status: Literal[tuple(status.value for status in MemberStatus)]
    created_at: Timestamp
    invited_by: Inviter | None = Field(
        description="The member who invited them, if they joined by invitation."
    )
    invite_id: str | None = Field(description="The invitation used (`iv-…`).")


class ReferralLink(ApiModel):
    """A member's personal share link and how it has done."""

    id: str = Field(description="Public id (`sl-…`).")
    member_id: MemberId
    url: str = Field(
        description="The link to share (`/r/<code>`). Anyone who joins through it becomes a "
        "member invited by this member.",
        json_schema_extra={"format": "uri"},
    )
    enabled: bool = Field(description="False once the member switched it off.")
    opens: int = Field(description="How many times it was opened.")
    joins: int = Field(description="How many people joined through it.")
    created_at: Timestamp
    expires_at: Timestamp | None = Field(
        description="When it stops working (the organisation's link lifetime); null: never."
    )


class Actor(ApiModel):
    id: MemberId
    full_name: str
    email: str


class Target(ApiModel):
    type: str = Field(description="organization, template, webhook, …")
    id: str | None = Field(description="Its public id.")
    label: str = Field(description="Its name, as it was.")


ChangedFields = Annotated[
    dict[str, Any],
    Field(
        description="The changed fields only, by the portal's own field names. A secret "
        "(signing secret, token, password) is never shown: its value is the word `changed`."
    ),
]


class AuditEvent(ApiModel):
    """One change: who made it, when, to what, from where."""

    id: str = Field(description="Public id (`ae-…`).")
    created_at: Timestamp
    action: Literal[tuple(ACTIONS)]
    actor: Actor | None = Field(
        description="The member who made the change, with the name and address they had "
        "then; null for the command line and the portal's own work."
    )
    channel: Literal[CHANNELS] = Field(
        description="Through the web, the API, the command line, or the portal itself."
    )
    api_token_id: str | None = Field(description="With channel api: the token used (`tk-…`).")
    ip: str | None = Field(description="The client's address.")
    target: Target
    before: ChangedFields
    after: ChangedFields


class AuditEventList(ApiModel):
    data: list[AuditEvent] = Field(max_length=audit_queries.MAX_LIMIT)
    next_cursor: str | None = Field(
        description="Pass as `cursor` for older events; null at the end."
    )


# --- referral rewards -------------------------------------------------------------------------


def _checked_reward_cursor(value: str) -> str:
    queries.decode_cursor(value, kind="rg")
    return value


RewardKindName = Literal["points", "benefit", "tier"]


class PartyReward(ApiModel):
    """What one party of an invitation gets from a rule."""

    kind: RewardKindName
    points: int | None = Field(description="With kind points.")
    benefit_id: str | None = Field(description="With kind benefit: the benefit (`bf-…`).")
    tier: str | None = Field(description="With kind tier: the tier's name.")


class RewardDefinition(ApiModel):
    """A referral reward rule: when → who → what, with its limits."""

    id: str = Field(description="Public id (`rr-…`).")
    name: str
    trigger: Literal["joined", "active_days", "approved"] = Field(
        description="joined: the invitee joins; active_days: their first activeDays days "
        "pass while still active; approved: their membership application is approved."
    )
    active_days: int | None
    referrer: PartyReward | None = Field(description="The inviter's reward, if any.")
    referee: PartyReward | None = Field(description="The new member's reward, if any.")
    monthly_cap: int | None = Field(description="Grants per referrer per calendar month (UTC).")
    yearly_cap: int | None = Field(description="Grants per referrer per calendar year (UTC).")
    hold_days: int = Field(description="Days before a grant is available; 0: at once.")
    active_from: Timestamp | None
    active_until: Timestamp | None = Field(description="Exclusive.")
    enabled: bool


class RewardDefinitionList(ApiModel):
    data: list[RewardDefinition]


class BenefitDefinition(ApiModel):
    """A named benefit, optionally handed out with one code from a pool per grant."""

    id: str = Field(description="Public id (`bf-…`).")
    name: str
    description: str
    uses_codes: bool
    codes_left: int = Field(description="Codes not yet handed out (0 without a pool).")


class BenefitDefinitionList(ApiModel):
    data: list[BenefitDefinition]


class RewardGrant(ApiModel):
    """One grant of a member's reward ledger."""

    id: str = Field(description="Public id (`rg-…`).")
    rule_id: str
    invite_id: str = Field(description="The invitation it rewards (`iv-…`).")
    party: Literal["referrer", "referee"]
    kind: RewardKindName
    points: int
    benefit_id: str | None
    tier: str | None
    code: str | None = Field(description="The benefit's code, once the grant is available.")
    status: Literal["issued", "pending", "held", "denied", "revoked"]
    available_at: Timestamp | None
    created_at: Timestamp


class MemberRewards(ApiModel):
    """A member's rewards: what My rewards shows."""

    points: int = Field(description="Points available now.")
    points_on_hold: int = Field(description="Points issued but still in their hold period.")
    members_brought: int = Field(description="Members who joined through their invitations.")
    data: list[RewardGrant] = Field(description="Grants, newest first.")
    next_cursor: str | None = Field(description="Pass as `cursor` for older grants.")


class MemberRewardsQuery(ApiModel):
    limit: Limit(100) = Field(20, description="Page size, at most 100.")
    cursor: Annotated[str, _domain_check(_checked_reward_cursor)] | None = Field(
        None, description="The previous page's nextCursor."
    )


# --- membership applications (adhesion) -------------------------------------------------------


def _checked_application_cursor(value: str) -> str:
    queries.decode_cursor(value, kind="ap")
    return value


ApplicationStatusName = Literal["pending", "approved", "rejected"]


class ApplicationListQuery(ApiModel):
    status: ApplicationStatusName = Field("pending", description="Which applications.")
    limit: Limit(100) = Field(25, description="Page size, at most 100.")
    cursor: Annotated[str, _domain_check(_checked_application_cursor)] | None = Field(
        None, description="The previous page's nextCursor."
    )


class ApplicationAnswer(ApiModel):
    question_id: str = Field(description="The question (`rq-…`), perhaps since removed.")
    label: str = Field(description="The question as it was asked.")
    kind: Literal["text", "long_text", "choice", "checkbox", "date"]
    value: str | bool = Field(description="Text (a date as YYYY-MM-DD), or a checkbox's tick.")


class SponsorRecord(ApiModel):
    invitations: int = Field(description="Invitations the sponsor sent.")
    accepted: int = Field(description="Of those, accepted.")
    decided: int = Field(description="Applications the sponsor sponsored that were decided.")
    approved: int = Field(description="Of those, approved.")


class Application(ApiModel):
    """A membership application: who joined, their answers, who invited them."""

    id: str = Field(description="Public id (`ap-…`).")
    user_id: MemberId
    email: str
    full_name: str
    status: ApplicationStatusName
    reason: str = Field(description="Their answer to “Why do you want to join?”, or empty.")
    answers: list[ApplicationAnswer]
    invite_id: str | None = Field(description="The invitation they joined through, if any.")
    sponsor_id: MemberId | None = Field(description="Who invited them; null: registered.")
    sponsor_record: SponsorRecord | None = Field(description="The sponsor's track record.")
    decision_note: str
    decided_by_id: MemberId | None
    created_at: Timestamp
    decided_at: Timestamp | None


class ApplicationList(ApiModel):
    data: list[Application] = Field(description="Newest first.")
    next_cursor: str | None = Field(description="Pass as `cursor` for older applications.")


class ApplicationDecision(ApiModel):
    decision: Literal["approve", "reject"]
    note: Text("The note", multiline=True, documented_max=1000) | None = Field(
        None, description="Sent to the applicant with the decision."
    )


class FieldProblem(ApiModel):
    field: str
    message: str


def _problem_codes(schema: dict[str, Any]) -> None:
    # At generation time, once every capability's DomainError kinds are imported.
    schema["enum"] = list(problem_kinds())


class Problem(ApiModel):
    """RFC 9457 problem details (application/problem+json)."""

    type: str = Field(description="Explains the code.", json_schema_extra={"format": "uri"})
    title: str
    status: int
    detail: str = Field(description="What happened and what to do, in words.")
    code: str = Field(json_schema_extra=_problem_codes)
    errors: list[FieldProblem] | SkipJsonSchema[None] = Field(
        None, description="Field errors: which field (by its API name) and why."
    )
    invite_id: str | SkipJsonSchema[None] = Field(
        None, description="With duplicate_pending: the pending invitation to resend."
    )


# The components of the document, in the order it lists them.
SCHEMAS: tuple[type[ApiModel], ...] = (
    Invite,
    CreatedInvite,
    InviteList,
    NewInvite,
    Member,
    NewMember,
    ReferralLink,
    AuditEvent,
    AuditEventList,
    Problem,
)


# --- events and their guests (portal/events) ------------------------------------------------

_LOCAL_TIME = (
    "A date and time on the event's own clock (timeZone), without an offset, "
    "e.g. `2027-03-14T18:30`."
)


class NewEvent(ApiModel):
    title: Text("A title", documented_max=event_rules.MAX_TITLE)
    starts_at: Text("A time", max_length=40) = Field(description=_LOCAL_TIME)
    ends_at: Text("A time", max_length=40) = Field(description=_LOCAL_TIME)
    time_zone: Text("A time zone", max_length=60) = Field(
        description="An IANA time zone name, e.g. `Europe/Berlin`."
    )
    place: Text("The place", documented_max=event_rules.MAX_PLACE) | None = Field(
        None, description="Where it happens (a place, an online link, or both)."
    )
    online_url: Text("The online link", documented_max=event_rules.MAX_URL) | None = Field(
        None, description="A video call link (https://…)."
    )
    description: (
        Text("The description", multiline=True, documented_max=event_rules.MAX_DESCRIPTION) | None
    ) = None
    capacity: int = Field(description="Places for guests.", ge=1, le=event_rules.MAX_CAPACITY)
    guests_per_member: int = Field(
        description="How many guests each member may invite.",
        ge=0,
        le=event_rules.MAX_GUESTS_PER_MEMBER,
    )


class EventListQuery(ApiModel):
    cursor: Annotated[str, Field(max_length=ID_MAX_LENGTH)] | None = Field(
        None, description="The previous page's nextCursor."
    )


class EventAnswer(ApiModel):
    """An event."""

    id: str = Field(description="Public id (`ev-…`).")
    title: str
    starts_at: Timestamp
    ends_at: Timestamp
    time_zone: str = Field(description="The IANA zone the event's times are shown in.")
    place: str
    online_url: str
    description: str
    capacity: int
    guests_per_member: int
    accepted: int = Field(description="Places taken.")
    organizer_id: MemberId
    unit: str | None = Field(description="The unit it is for; null: the whole organisation.")
    created_at: Timestamp
    updated_at: Timestamp


class EventList(ApiModel):
    data: list[EventAnswer] = Field(max_length=event_rules.PAGE)
    next_cursor: str | None = Field(description="Pass as cursor for the next page.")


class EventGuestAnswer(ApiModel):
    """A guest of an event."""

    id: str = Field(description="Public id (`eg-…`).")
    email: str
    full_name: str
    status: Literal["INVITED", "ACCEPTED", "WAITING", "DECLINED"]
    invited_by: Inviter = Field(description="The member who invited them.")
    invited_at: Timestamp
    answered_at: Timestamp | None


class EventGuestList(ApiModel):
    data: list[EventGuestAnswer]
