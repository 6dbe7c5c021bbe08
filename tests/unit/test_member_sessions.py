"""Ending sessions: the session generation, password changes and member status (service,
policy and the command-line tools that call them)."""

from __future__ import annotations

import pytest

from portal.auth.service import (
    change_password,
    load_member,
    login_key,
    member_by_email,
    set_member_status,
)
from portal.clock import utcnow
from portal.errors import Invalid, NotAllowed, NotFound
from portal.passwords import verify_password
from portal.roles import MemberStatus, Role
from tests.factories import make_member, make_org, make_unit


def test_a_session_id_names_the_member_and_its_generation(session, org):
    member = make_member(session, org)
    assert member.get_id() == f"{member.public_id}:0"
    assert load_member(session, member.get_id()) is member
    change_password(session, member, "another long password", utcnow())
    assert member.get_id() == f"{member.public_id}:1"
    assert load_member(session, f"{member.public_id}:0") is None
    for malformed in ("", ":", member.public_id, f"{member.public_id}:x", f"{member.public_id}:-1"):
        assert load_member(session, malformed) is None


def test_a_too_short_password_is_refused_and_changes_nothing(session, org):
    member = make_member(session, org)
    with pytest.raises(Invalid, match="at least 8 characters"):
        change_password(session, member, "short", utcnow())
    assert member.session_generation == 0
    assert verify_password(member.password_hash, "correct horse battery")


def test_disabling_ends_sessions_and_setting_the_same_status_again_does_nothing(session, org):
    admin = make_member(session, org, Role.ADMIN_TENANT)
    member = make_member(session, org)
    set_member_status(session, admin, member, MemberStatus.ACTIVE, utcnow())
    assert member.session_generation == 0
    set_member_status(session, admin, member, MemberStatus.DISABLED, utcnow())
    assert (member.status, member.session_generation) == ("disabled", 1)
    set_member_status(session, admin, member, MemberStatus.DISABLED, utcnow())
    assert member.session_generation == 1


def test_a_status_other_than_active_or_disabled_is_refused(session, org):
    admin = make_member(session, org, Role.ADMIN_TENANT)
    member = make_member(session, org)
    with pytest.raises(Invalid, match="active or disabled"):
        set_member_status(session, admin, member, MemberStatus.PENDING_APPROVAL, utcnow())


@pytest.mark.parametrize(
    ("actor_role", "same_unit", "target_role", "allowed"),
    [
        (Role.ADMIN_TENANT, False, Role.USER, True),
        (Role.ADMIN_TENANT, False, Role.ADMIN_TENANT, True),
        (Role.ADMIN_LOCAL, True, Role.USER, True),
        (Role.ADMIN_LOCAL, True, Role.HR_TENANT, True),
        (Role.ADMIN_LOCAL, False, Role.USER, False),
        (Role.ADMIN_LOCAL, True, Role.ADMIN_TENANT, False),
        (Role.HR_TENANT, True, Role.USER, False),
        (Role.HR_LOCAL, True, Role.USER, False),
        (Role.USER, True, Role.USER, False),
    ],
)
def test_who_may_change_a_members_status(session, org, actor_role, same_unit, target_role, allowed):
    home, elsewhere = make_unit(session, org), make_unit(session, org)
    actor = make_member(session, org, actor_role, unit=home)
    member = make_member(session, org, target_role, unit=home if same_unit else elsewhere)
    if allowed:
        set_member_status(session, actor, member, MemberStatus.DISABLED, utcnow())
        assert member.status == "disabled"
    else:
        with pytest.raises(NotAllowed):
            set_member_status(session, actor, member, MemberStatus.DISABLED, utcnow())
        assert member.status == "active" and member.session_generation == 0


def test_admins_cannot_change_their_own_status_or_another_organisations_members(session, org):
    admin = make_member(session, org, Role.ADMIN_TENANT)
    with pytest.raises(NotAllowed, match="your own status"):
        set_member_status(session, admin, admin, MemberStatus.DISABLED, utcnow())
    stranger = make_member(session, make_org(session))
    with pytest.raises(NotAllowed):
        set_member_status(session, admin, stranger, MemberStatus.DISABLED, utcnow())
    assert stranger.status == "active"


def test_an_unknown_address_is_a_clear_not_found(session, org):
    with pytest.raises(NotFound, match="No member has the address nobody@example.org"):
        member_by_email(session, "Nobody@Example.org")


def test_the_login_key_is_the_same_for_every_spelling_of_an_address():
    keys = {
        login_key(spelling)
        for spelling in (
            "member@demo-club.org",
            "member@ｄemo-club.org",
            " MEMBER@Demo-Club.ORG",
            "ｍember@demo-club.org",
            "member@DEMO-club.org\t",
        )
    }
    assert len(keys) == 1
    assert login_key("other@demo-club.org") not in keys
    assert login_key("not an address") == login_key("NOT AN ADDRESS ")
    assert "@" not in next(iter(keys))  # the limiter's storage holds no addresses


# --- command line ----------------------------------------------------------------------------


def test_set_password_command_sets_it_and_ends_sessions(app, session, org):
    member = make_member(session, org, email="ada@example.org")
    result = app.test_cli_runner().invoke(
        args=["portal", "set-password", "Ada@Example.org"],
        input="fresh long password\nfresh long password\n",
    )
    assert result.exit_code == 0, result.output
    assert "sessions have ended" in result.output
    session.refresh(member)
    assert verify_password(member.password_hash, "fresh long password")
    assert member.session_generation == 1


def test_set_password_command_refuses_a_short_password_with_its_reason(app, session, org):
    member = make_member(session, org, email="ada@example.org")
    result = app.test_cli_runner().invoke(
        args=["portal", "set-password", "ada@example.org", "--password", "short"]
    )
    assert result.exit_code == 1
    assert "at least 8 characters" in result.output
    session.refresh(member)
    assert member.session_generation == 0


def test_set_status_command_disables_and_reactivates(app, session, org):
    member = make_member(session, org, email="ada@example.org")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["portal", "set-status", "ada@example.org", "disabled"])
    assert result.exit_code == 0, result.output
    assert "ada@example.org is now disabled" in result.output
    session.refresh(member)
    assert (member.status, member.session_generation) == ("disabled", 1)
    runner.invoke(args=["portal", "set-status", "ada@example.org", "active"])
    session.refresh(member)
    assert (member.status, member.session_generation) == ("active", 1)
    unknown = runner.invoke(args=["portal", "set-status", "nobody@example.org", "active"])
    assert unknown.exit_code == 1 and "No member has the address" in unknown.output
    bad = runner.invoke(args=["portal", "set-status", "ada@example.org", "pending_approval"])
    assert bad.exit_code == 2


def _audit_rows(session, action):
    from sqlmodel import select

    from portal.models import AuditEvent

    return session.exec(select(AuditEvent).where(AuditEvent.action == action)).all()


def test_status_and_password_changes_from_the_command_line_are_audited(app, session, org):
    make_member(session, org, email="ada@example.org")
    runner = app.test_cli_runner()
    runner.invoke(args=["portal", "set-status", "ada@example.org", "disabled"])
    runner.invoke(
        args=["portal", "set-password", "ada@example.org", "--password", "fresh long password"]
    )
    (status,) = _audit_rows(session, "member.status_changed")
    assert (status.before, status.after) == ({"status": "active"}, {"status": "disabled"})
    assert (status.channel, status.actor_id) == ("cli", None)
    (password,) = _audit_rows(session, "member.password_changed")
    assert password.after == {"password": "changed"}
    assert "fresh long password" not in str(password.before) + str(password.after)


def test_a_refused_password_change_leaves_no_audit_row(app, session, org):
    make_member(session, org, email="ada@example.org")
    app.test_cli_runner().invoke(
        args=["portal", "set-password", "ada@example.org", "--password", "short"]
    )
    assert _audit_rows(session, "member.password_changed") == []
