"""Who may open the Settings screens: the `settings` blueprint signs in once, and each
screen's blueprint adds its own rule (`bp.before_request(allowing(rule))`)."""

from __future__ import annotations

from collections.abc import Callable

from flask_login import current_user, login_required

from portal.models import Member
from portal.policy import Decision, may_manage_settings, require


@login_required
def signed_in() -> None:
    """A before_request guard: anyone not signed in goes to the login page."""


def allowing(rule: Callable[[Member], Decision]) -> Callable[[], None]:
    """A before_request guard that `rule` must allow. It counts on a parent blueprint's
    `signed_in` (Flask runs a parent's guards before its children's)."""

    def guard() -> None:
        require(rule(current_user))

    return guard


# Most Settings screens: ADMIN_TENANT only.
admins_only = allowing(may_manage_settings)
