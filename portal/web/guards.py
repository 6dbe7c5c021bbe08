"""Who may open a blueprint at all, registered once per blueprint with `bp.before_request`."""

from __future__ import annotations

from collections.abc import Callable

from flask_login import current_user, login_required

from portal.models import Member
from portal.policy import Decision, may_manage_settings, require


def signed_in_and(rule: Callable[[Member], Decision]) -> Callable[[], None]:
    """A before_request guard: sign in first (the login page), then `rule` must allow."""

    @login_required
    def guard() -> None:
        require(rule(current_user))

    return guard


# Every Settings screen: ADMIN_TENANT only.
admins_only = signed_in_and(may_manage_settings)
