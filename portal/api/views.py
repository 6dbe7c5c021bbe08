"""The JSON API under /api/v1, and its documentation (DESIGN §1, issue 5).

Bearer tokens only: the API never reads the session cookie, so a logged-in browser can't be
made to call it (which is also why CSRF protection is off here). Every view follows the same
order as the pages: authenticate (before_request) → check scope → call the same services as
the web → commit once → serialise. Errors become problem+json in problems.py.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import partial

from flask import Blueprint, Response, current_app, g, render_template, request, url_for
from flask_limiter.errors import RateLimitExceeded
from pydantic.alias_generators import to_camel
from sqlmodel import select
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound

from portal.api import contract, openapi, problems, queries, serializers, tokens
from portal.api import service as api_service
from portal.api.operations import idempotent, json_answer, operation
from portal.applications import queries as application_queries
from portal.applications import service as applications
from portal.audit import queries as audit_queries
from portal.audit import service as audit
from portal.clock import utcnow
from portal.db import get_session
from portal.delivery.smtp import reach
from portal.errors import DomainError, NotAllowed
from portal.events import service as events
from portal.extensions import client_ip, csrf, limiter
from portal.invites import service as invites
from portal.invites.mail import join_url
from portal.lookups import get_in_org
from portal.models import ApplicationStatus, Event, EventGuestStatus, Member, Unit
from portal.policy import may_read_audit_log, may_review_applications, require
from portal.referrals import service as referrals
from portal.rewards import queries as reward_queries
from portal.rewards import service as rewards
from portal.validation import text_problem
from portal.web.unit_of_work import commit

bp = Blueprint("api", __name__, url_prefix="/api")
csrf.exempt(bp)

DEFAULT_RATE_LIMIT = "120 per minute"
DEFAULT_AUTH_FAILURE_LIMIT = "10 per minute"
AUTH_FAILURE_SCOPE = "api-auth-failures"
PUBLIC_ENDPOINTS = {"api.openapi_document", "api.docs", "api.unknown"}


# Path parameters by the view's name; the document calls each of them `id`.
PATH_PARAMETERS = {"invite_id": "id", "member_id": "id", "event_id": "id"}
INVITE_ID = "The invitation's public id (`iv-…`)."
# What any operation with a JSON body can also answer.
BODY_CODES = ("bad_request", "too_large", "unsupported_media_type", "invalid")


# --- authentication and rate limiting ------------------------------------------------------


def presented_token() -> str | None:
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        return None
    return credentials.strip()


def _rate_limit_key() -> str:
    # Limits run before authentication, so the key is the presented token's digest (the
    # same value the database stores): one bucket per token, without a query.
    if presented := presented_token():
        return "api-token:" + tokens.digest(presented)
    return "api-ip:" + client_ip()


limiter.shared_limit(
    lambda: current_app.config.get("API_RATE_LIMIT", DEFAULT_RATE_LIMIT),
    scope="api",
    key_func=_rate_limit_key,
)(bp)


def _refused(response: Response) -> bool:
    return response.status_code == 401


# Every made-up token has a fresh bucket above, so refusals also count per client: past the
# limit, a client is refused before its token is even looked up, whatever token it sends.
limiter.shared_limit(
    lambda: current_app.config.get("API_AUTH_FAILURE_LIMIT", DEFAULT_AUTH_FAILURE_LIMIT),
    scope=AUTH_FAILURE_SCOPE,
    key_func=lambda: "api-auth-failures:" + client_ip(),
    deduct_when=_refused,
    exempt_when=lambda: request.endpoint in PUBLIC_ENDPOINTS,
)(bp)


@bp.before_request
def _authenticate() -> None:
    if request.endpoint in PUBLIC_ENDPOINTS:
        return
    session = get_session()
    g.api = tokens.authenticate(session, presented_token(), utcnow())
    audit.set_context(session, channel="api", api_token_id=g.api.token.public_id)
    # last_used_at in a transaction of its own: a request that then fails still used the token.
    session.commit()
    _check_parameters()


def _check_parameters() -> None:
    """No query or path parameter holds a control character or a lone surrogate: refused
    before any lookup (a NUL would make PostgreSQL fail), with the document's names."""
    errors = []
    for name, value in request.args.items(multi=True):
        for problem in (
            text_problem(name, what="A parameter's name"),
            text_problem(value, what=f"The {name} parameter"),
        ):
            if problem:
                errors.append((name, problem))
    for name, value in (request.view_args or {}).items():
        if isinstance(value, str) and (problem := text_problem(value, what="The id")):
            errors.append((PATH_PARAMETERS.get(name, name), problem))
    if errors:
        raise problems.FieldErrors(errors)


# --- errors --------------------------------------------------------------------------------


@bp.errorhandler(DomainError)
def _domain_error(error: DomainError) -> Response:
    return problems.from_domain(error)


@bp.errorhandler(RateLimitExceeded)
def _rate_limited(error: RateLimitExceeded) -> Response:
    if error.limit.scope == AUTH_FAILURE_SCOPE:
        return problems.rate_limited("Too many requests from your address failed to authenticate.")
    return problems.rate_limited()


@bp.errorhandler(HTTPException)
def _http_error(error: HTTPException) -> Response:
    return problems.from_http(error)


@bp.route("/v1", defaults={"rest": ""}, methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
@bp.route("/v1/<path:rest>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def unknown(rest: str) -> Response:
    """Anything under /api/v1 that no operation serves: 405 (with Allow) when the address
    exists for another method, else 404, both as problem+json rather than HTML pages."""
    adapter = current_app.url_map.bind_to_environ(request.environ)
    allowed = []
    for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
        try:
            endpoint, _args = adapter.match(request.path, method=method)
        except HTTPException:
            continue
        if endpoint != "api.unknown":
            allowed.append(method)
    if allowed:
        raise MethodNotAllowed(valid_methods=allowed)
    raise NotFound()


# --- invitations ---------------------------------------------------------------------------


def _invite(invite_public_id: str, now: datetime) -> contract.Invite:
    row = queries.invite_row(get_session(), g.api.token.organization_id, invite_public_id)
    return serializers.invite(row, now)


def _send(inviter: Member, body: contract.NewInvite, now: datetime) -> Response:
    session, organization_id = get_session(), g.api.token.organization_id
    sent = invites.send_invitation(
        session,
        inviter,
        email=body.email,
        full_name=body.full_name or "",
        first_name=body.first_name or "",
        last_name=body.last_name or "",
        message=body.message or "",
        template_public_id=body.template_id,
        now=now,
        reach=reach(current_app),
        # No double-submit guard: a repeated request is 409 duplicate_pending, and a client
        # that retries says so with an Idempotency-Key, which replays the exact first answer
        # (the link included) instead of a look-alike without it.
        double_submit=False,
    )
    assert sent.created and sent.secret is not None
    row = queries.invite_row(session, organization_id, sent.invitation.public_id)
    created = contract.CreatedInvite(
        **serializers.invite_fields(row, now),
        invite_landing_page_url=join_url(current_app.config["PORTAL_BASE_URL"], sent.secret),
    )
    location = url_for("api.get_invite", invite_id=created.id)
    return json_answer(created, 201, {"Location": location})


@bp.post("/v1/invites")
@operation(
    "createInvite",
    scope="create-invites",
    body=contract.NewInvite,
    answers={201: (contract.CreatedInvite, "Invited; the e-mail is queued.")},
    refusals=(
        *BODY_CODES,
        "not_allowed",
        "invitations_disabled",
        "already_member",
        "duplicate_pending",
        "invalid_email",
        "idempotency_key_reused",
        "daily_limit",
    ),
)
@idempotent("inviteLandingPageUrl")
def create_invite(body: contract.NewInvite) -> Response:
    """Invite someone

    Creates an invitation and queues its e-mail, with the same rules as the dashboard. The
    201 answer is the only one that shows the join link. A second request for an address
    that is already invited is 409 duplicate_pending, however soon it comes: to retry
    safely, send an Idempotency-Key. Refusals about the address (already_member,
    duplicate_pending) count towards the inviter's daily limit like sends.
    """
    session, now = get_session(), utcnow()
    inviter = api_service.acting_inviter(session, g.api, body.inviter_id)
    try:
        return _send(inviter, body, now)
    except DomainError as error:
        if invites.counts_against_limit(error):
            # As on the web: the send is rolled back, the refusal counted on its own.
            session.rollback()
            commit(partial(invites.record_refused_send, session, inviter, error, now))
        raise


@bp.get("/v1/invites")
@operation(
    "listInvites",
    scope="read-invites",
    query=contract.InviteListQuery,
    answers={200: (contract.InviteList, "A page of invitations.")},
    refusals=("invalid",),
)
def list_invites(query: contract.InviteListQuery) -> Response:
    """List invitations

    The organisation's invitations, newest first, a page at a time.
    """
    now = utcnow()
    page = queries.list_invites(
        get_session(),
        g.api.token.organization_id,
        query.filters(),
        now,
        limit=query.limit,
        cursor=query.cursor,
    )
    rows = [serializers.invite(row, now) for row in page.rows]
    return json_answer(contract.InviteList(data=rows, next_cursor=page.next_cursor))


@bp.get("/v1/invites/<invite_id>")
@operation(
    "getInvite",
    scope="read-invites",
    path_id=INVITE_ID,
    answers={200: (contract.Invite, "The invitation.")},
    refusals=("not_found",),
)
def get_invite(invite_id: str) -> Response:
    """Read an invitation

    One invitation of the organisation.
    """
    return json_answer(_invite(invite_id, utcnow()))


def _act(invite_id: str, operation: Callable[..., object]) -> Response:
    auth, session, now = g.api, get_session(), utcnow()
    invitation = api_service.invitation_in_org(session, auth.token.organization_id, invite_id)
    actor = api_service.managing_actor(session, auth, invitation)
    commit(lambda: operation(session, actor, invitation, now))
    return json_answer(_invite(invite_id, now))


@bp.post("/v1/invites/<invite_id>/resend")
@operation(
    "resendInvite",
    scope="create-invites",
    path_id=INVITE_ID,
    answers={200: (contract.Invite, "Resent.")},
    refusals=("not_found", "not_allowed", "conflict", "duplicate_pending", "daily_limit"),
)
def resend_invite(invite_id: str) -> Response:
    """Resend an invitation

    Sends a fresh link with a fresh expiry; the previous link stops working. Acts as the
    token's owner, or (with invite-on-behalf) as the inviter.
    """
    return _act(invite_id, invites.resend)


@bp.post("/v1/invites/<invite_id>/revoke")
@operation(
    "revokeInvite",
    scope="create-invites",
    path_id=INVITE_ID,
    answers={200: (contract.Invite, "Revoked.")},
    refusals=("not_found", "not_allowed", "conflict"),
)
def revoke_invite(invite_id: str) -> Response:
    """Revoke an invitation

    The link stops working. Only pending invitations can be revoked. Acts as the token's
    owner, or (with invite-on-behalf) as the inviter.
    """
    return _act(invite_id, invites.revoke)


# --- members -------------------------------------------------------------------------------


@bp.post("/v1/members")
@operation(
    "createMember",
    scope="create-profiles",
    body=contract.NewMember,
    answers={201: (contract.Member, "Joined.")},
    refusals=(
        *BODY_CODES,
        "invalid_invite",
        "account_exists",
        "invite_expired",
        "invite_revoked",
        "invite_used",
        "invite_superseded",
        "invalid_email",
    ),
)
def create_member(body: contract.NewMember) -> Response:
    """Join through an invitation (headless)

    Registers the invitee exactly as the join page does, for an organisation's own front
    end: the new member is linked to the inviter and INVITE_LINKED is sent to webhooks.
    Under adhesion the member is `pending_approval` with an application
    (APPLICATION_SUBMITTED) until HR approves it.
    """
    auth, session, now = g.api, get_session(), utcnow()

    def join() -> Member:
        member = invites.accept(
            session,
            invites.digest(body.invite_id),
            email=body.email,
            full_name=body.full_name,
            password=body.password,  # none: the member signs in elsewhere
            now=now,
            organization_id=auth.token.organization_id,
            reach=reach(current_app),
        )
        audit.member_created(session, auth.owner, member, now)
        # Under adhesion the member waits for approval, exactly as after the join page.
        applications.record_join(
            session,
            member,
            raw_answers={f"q_{key}": value for key, value in (body.answers or {}).items()},
            reason=body.reason,
            now=now,
        )
        return member

    # A concurrent join with this address loses on the unique index; run again, it says so.
    member = commit(join)
    row = queries.member_row(session, auth.token.organization_id, member.public_id)
    location = url_for("api.get_member", member_id=member.public_id)
    return json_answer(serializers.member(row), 201, {"Location": location})


@bp.get("/v1/members/<member_id>")
@operation(
    "getMember",
    scope="read-profiles",
    path_id="The member's public id (`mb-…`).",
    answers={200: (contract.Member, "The member.")},
    refusals=("not_found",),
)
def get_member(member_id: str) -> Response:
    """Read a member

    One member of the organisation, with who invited them.
    """
    row = queries.member_row(get_session(), g.api.token.organization_id, member_id)
    return json_answer(serializers.member(row))


@bp.get("/v1/members/<member_id>/referral-link")
@operation(
    "getReferralLink",
    scope="read-referral-links",
    path_id="The member's public id (`mb-…`).",
    answers={200: (contract.ReferralLink, "The member's personal share link.")},
    refusals=("not_found", "not_allowed", "invitations_disabled"),
)
def get_referral_link(member_id: str) -> Response:
    """Read a member's share link

    The member's personal link (made now if they have none yet) and its counts, so a
    headless front end can show it. not_allowed when the member may not invite, or the
    organisation has switched share links off; invitations_disabled while invitations are
    off.
    """
    session, now = get_session(), utcnow()
    member = get_in_org(session, Member, g.api.token.organization_id, member_id)
    summary = commit(lambda: referrals.default_link_of(session, member, now))
    link = summary.link
    return json_answer(
        contract.ReferralLink(
            id=link.public_id,
            member_id=member.public_id,
            url=referrals.link_url(current_app.config["PORTAL_BASE_URL"], summary.code),
            enabled=link.enabled,
            opens=link.opens,
            joins=link.joins,
            created_at=link.created_at,
            expires_at=summary.expires_at,
        )
    )


# --- referral rewards ------------------------------------------------------------------------


@bp.get("/v1/reward-definitions")
@operation(
    "listRewardDefinitions",
    scope="read-reward-definitions",
    answers={200: (contract.RewardDefinitionList, "The organisation's reward rules.")},
)
def list_reward_definitions() -> Response:
    """List referral reward rules

    Every rule of the organisation, oldest first, switched on or off: when it rewards
    (the invitee joins, or stays active for some days), whom, with what, and its limits.
    """
    session, organization_id = get_session(), g.api.token.organization_id
    benefits = {
        row.benefit.id: row.benefit.public_id
        for row in rewards.list_benefits(session, organization_id)
    }
    rules = reward_queries.rules_of(session, organization_id)
    data = [serializers.reward_definition(rule, benefits) for rule in rules]
    return json_answer(contract.RewardDefinitionList(data=data))


@bp.get("/v1/benefit-definitions")
@operation(
    "listBenefitDefinitions",
    scope="read-benefit-definitions",
    answers={200: (contract.BenefitDefinitionList, "The organisation's benefits.")},
)
def list_benefit_definitions() -> Response:
    """List benefits

    The benefits reward rules hand out, by name, with how many codes are left in each
    pool. The codes themselves are never listed.
    """
    rows = rewards.list_benefits(get_session(), g.api.token.organization_id)
    data = [serializers.benefit_definition(row) for row in rows]
    return json_answer(contract.BenefitDefinitionList(data=data))


@bp.get("/v1/members/<member_id>/rewards")
@operation(
    "getMemberRewards",
    scope="read-rewards",
    path_id="The member's public id (`mb-…`).",
    query=contract.MemberRewardsQuery,
    answers={200: (contract.MemberRewards, "The member's rewards.")},
    refusals=("not_found", "invalid"),
)
def get_member_rewards(member_id: str, query: contract.MemberRewardsQuery) -> Response:
    """Read a member's rewards

    What the member's My rewards page shows: the points available and on hold, how many
    members their invitations brought, and their grants, newest first, a page at a time
    (with the benefit's code once a grant is available).
    """
    session, now = get_session(), utcnow()
    row = queries.member_row(session, g.api.token.organization_id, member_id)
    before = queries.decode_cursor(query.cursor, kind="rg") if query.cursor else None
    page = reward_queries.history(session, row.member, before, limit=query.limit)
    summary = reward_queries.summary(session, row.member, now)
    return json_answer(
        contract.MemberRewards(
            points=summary.points,
            points_on_hold=summary.points_on_hold,
            members_brought=summary.brought,
            data=[serializers.reward_grant(grant, now) for grant in page.rows],
            next_cursor=queries.encode_cursor(page.next_before, kind="rg")
            if page.next_before
            else None,
        )
    )


# --- membership applications (adhesion) ------------------------------------------------------


def _application(
    row: application_queries.ApplicationRow, ids: dict[int, str]
) -> contract.Application:
    a = row.application
    return contract.Application(
        id=a.public_id,
        user_id=row.applicant.public_id,
        email=row.applicant.email,
        full_name=row.applicant.full_name,
        status=a.status,
        reason=a.reason,
        answers=[contract.ApplicationAnswer(**answer) for answer in a.answers],
        invite_id=ids.get(a.invitation_id) if a.invitation_id else None,
        sponsor_id=row.sponsor.public_id if row.sponsor else None,
        sponsor_record=contract.SponsorRecord(**vars(row.record)) if row.sponsor else None,
        decision_note=a.decision_note,
        decided_by_id=ids.get(-a.decided_by_id) if a.decided_by_id else None,
        created_at=a.created_at,
        decided_at=a.decided_at,
    )


def _applications(rows: list[application_queries.ApplicationRow]) -> list[contract.Application]:
    ids = application_queries.public_ids(get_session(), [r.application for r in rows])
    return [_application(row, ids) for row in rows]


@bp.get("/v1/applications")
@operation(
    "listApplications",
    scope="read-applications",
    query=contract.ApplicationListQuery,
    answers={200: (contract.ApplicationList, "A page of applications.")},
    refusals=("invalid", "not_allowed"),
)
def list_applications(query: contract.ApplicationListQuery) -> Response:
    """List membership applications

    Applications in the token owner's scope (their unit for unit HR and admins, the
    organisation for organisation-wide ones), newest first, with the answers and the
    sponsor's track record. The owner must be HR or an admin (not_allowed otherwise).
    """
    owner = g.api.owner
    require(may_review_applications(owner))
    before = queries.decode_cursor(query.cursor, kind="ap") if query.cursor else None
    page = application_queries.applications(
        get_session(), owner, ApplicationStatus(query.status), before, limit=query.limit
    )
    return json_answer(
        contract.ApplicationList(
            data=_applications(page.rows),
            next_cursor=queries.encode_cursor(page.next_before, kind="ap")
            if page.next_before
            else None,
        )
    )


@bp.post("/v1/applications/<application_id>/decision")
@operation(
    "decideApplication",
    scope="decide-applications",
    path_id="The application's public id (`ap-…`).",
    body=contract.ApplicationDecision,
    answers={200: (contract.Application, "Decided; the applicant's e-mail is queued.")},
    refusals=(*BODY_CODES, "not_found", "not_allowed", "already_decided"),
)
def decide_application(application_id: str, body: contract.ApplicationDecision) -> Response:
    """Approve or reject a membership application

    As the token's owner, who must be HR or an admin responsible for the applicant's unit.
    Decided once: a second decision (or one racing another) is 409 already_decided.
    """
    session, owner = get_session(), g.api.owner
    application = applications.get_for_actor(session, owner, application_id)
    commit(
        lambda: applications.decide(
            session,
            owner,
            application,
            approve=body.decision == "approve",
            note=body.note or "",
            now=utcnow(),
        )
    )
    return json_answer(_applications([application_queries.one(session, application)])[0])


# --- events and their guests ---------------------------------------------------------------

EVENT_REFUSALS = ("event_in_past", "event_ends_before_start")


def _event_answer(event: Event, units: dict[int, str], organizers: dict[int, str]):
    return contract.EventAnswer(
        id=event.public_id,
        title=event.title,
        starts_at=event.starts_at,
        ends_at=event.ends_at,
        time_zone=event.timezone,
        place=event.place,
        online_url=event.online_url,
        description=event.description,
        capacity=event.capacity,
        guests_per_member=event.guests_per_member,
        accepted=event.accepted_count,
        organizer_id=organizers[event.organizer_id],
        unit=units.get(event.unit_id) if event.unit_id is not None else None,
        created_at=event.created_at,
        updated_at=event.updated_at,
    )


def _event_answers(rows: list[Event]) -> list[contract.EventAnswer]:
    """The events with their units and organisers, in one query each (not one per event)."""
    session = get_session()
    unit_ids = {e.unit_id for e in rows if e.unit_id is not None}
    organizer_ids = {e.organizer_id for e in rows}
    units = dict(session.exec(select(Unit.id, Unit.name).where(Unit.id.in_(unit_ids))).all())
    organizers = dict(
        session.exec(select(Member.id, Member.public_id).where(Member.id.in_(organizer_ids))).all()
    )
    return [_event_answer(event, units, organizers) for event in rows]


@bp.get("/v1/events")
@operation(
    "listEvents",
    scope="read-events",
    query=contract.EventListQuery,
    answers={200: (contract.EventList, "A page of upcoming events.")},
    refusals=("invalid",),
)
def list_events(query: contract.EventListQuery) -> Response:
    """List upcoming events

    The events not yet over that the token's owner may see (the organisation's, their
    unit's, and those they organise), soonest end first, a page at a time.
    """
    page = events.upcoming(get_session(), g.api.owner, utcnow(), after=query.cursor)
    return json_answer(
        contract.EventList(data=_event_answers(page.events), next_cursor=page.next_after)
    )


def _camel_fields(operation: Callable[[], Event]) -> Event:
    """The service names fields as the web form does; the API names them in camelCase.
    (Inside @idempotent's unit of work: it commits, or rolls back on the refusal.)"""
    try:
        return operation()
    except DomainError as error:
        by_field = error.details.get("problems")
        if not isinstance(by_field, dict):
            raise
        names = {"timezone": "time_zone"}
        refusal = problems.FieldErrors(
            [
                (to_camel(names.get(name, name)), message)
                for name, messages in by_field.items()
                for message in messages
            ]
        )
        refusal.code = error.code  # event_in_past, event_ends_before_start or invalid
        raise refusal from error


@bp.post("/v1/events")
@operation(
    "createEvent",
    scope="write-events",
    body=contract.NewEvent,
    answers={201: (contract.EventAnswer, "Created.")},
    refusals=(*BODY_CODES, "not_allowed", *EVENT_REFUSALS, "idempotency_key_reused"),
)
@idempotent()
def create_event(body: contract.NewEvent) -> Response:
    """Create an event

    With the same rules as the web form, for the token owner's unit (HR and admins of a
    unit) or organisation (organisation-wide HR and admins): the times are on the clock
    of timeZone. event_in_past and event_ends_before_start say which rule refused it.
    """
    data = events.EventInput(
        title=body.title,
        starts_local=body.starts_at,
        ends_local=body.ends_at,
        timezone=body.time_zone,
        place=body.place or "",
        online_url=body.online_url or "",
        description=body.description or "",
        capacity=body.capacity,
        guests_per_member=body.guests_per_member,
    )
    event = _camel_fields(lambda: events.create_event(get_session(), g.api.owner, data, utcnow()))
    (answer,) = _event_answers([event])
    return json_answer(answer, 201)


@bp.get("/v1/events/<event_id>/guests")
@operation(
    "listEventGuests",
    scope="read-events",
    path_id="The event's public id (`ev-…`).",
    answers={200: (contract.EventGuestList, "The event's guests, in the order invited.")},
    refusals=("not_found", "not_allowed"),
)
def list_event_guests(event_id: str) -> Response:
    """List an event's guests

    Every guest with who invited them, for HR and admins who oversee the event (the
    token's owner).
    """
    session, owner = get_session(), g.api.owner
    event = events.get_event(session, owner, event_id)
    rows = events.guest_list(session, owner, event)
    hosts = dict(
        session.exec(
            select(Member.id, Member.public_id).where(
                Member.id.in_({row.guest.host_id for row in rows})
            )
        ).all()
    )
    return json_answer(
        contract.EventGuestList(
            data=[
                contract.EventGuestAnswer(
                    id=row.guest.public_id,
                    email=row.guest.email,
                    full_name=row.guest.full_name,
                    status=events.API_STATUS[EventGuestStatus(row.guest.status)],
                    invited_by=contract.Inviter(
                        id=hosts[row.guest.host_id], full_name=row.host_name
                    ),
                    invited_at=row.guest.created_at,
                    answered_at=row.guest.answered_at,
                )
                for row in rows
            ]
        )
    )


# --- the audit log -------------------------------------------------------------------------


def _actor_id(actor_public_id: str | None) -> int | None:
    if actor_public_id is None:
        return None
    session, organization_id = get_session(), g.api.token.organization_id
    actor = audit_queries.member_by_public_id(session, organization_id, actor_public_id)
    if actor is None:
        raise problems.FieldErrors(
            [("actorId", "There is no member with this id in your organisation.")]
        )
    return actor.id


@bp.get("/v1/audit-events")
@operation(
    "listAuditEvents",
    scope="read-audit",
    query=contract.AuditListQuery,
    answers={200: (contract.AuditEventList, "A page of audit events.")},
    refusals=("invalid", "not_allowed"),
)
def list_audit_events(query: contract.AuditListQuery) -> Response:
    """List the audit log

    Changes to the organisation's settings, e-mail templates, webhooks, API tokens and
    members, and invitations revoked by someone other than their inviter, newest first, a
    page at a time. The token's owner must be an organisation admin (not_allowed otherwise).
    """
    owner = g.api.owner
    if not may_read_audit_log(owner):
        # A token never reads more than its owner could on the settings page.
        raise NotAllowed(
            f"This token's owner, {owner.full_name}, isn't an organisation admin, and "
            "only organisation admins can read the audit log."
        )
    filters = audit_queries.AuditFilters(
        action=query.action,
        actor_id=_actor_id(query.actor_id),
        created_after=query.created_after,
        created_before=query.created_before,
    )
    page = audit_queries.list_events(
        get_session(),
        g.api.token.organization_id,
        filters,
        limit=query.limit,
        cursor=query.cursor,
    )
    events = [serializers.audit_event(row) for row in page.rows]
    return json_answer(contract.AuditEventList(data=events, next_cursor=page.next_cursor))


# --- documentation -------------------------------------------------------------------------


@bp.get("/v1/openapi.json")
def openapi_document() -> Response:
    return current_app.json.response(openapi.document(current_app.config["PORTAL_BASE_URL"]))


@bp.get("/docs")
def docs() -> str:
    document = openapi.document(current_app.config["PORTAL_BASE_URL"])
    return render_template("api/docs.html", doc=openapi.for_docs(document))
