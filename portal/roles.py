"""Roles, in increasing order of reach."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    USER = "USER"
    HR_LOCAL = "HR_LOCAL"
    HR_TENANT = "HR_TENANT"
    ADMIN_LOCAL = "ADMIN_LOCAL"
    ADMIN_TENANT = "ADMIN_TENANT"

    @property
    def level(self) -> int:
        return ROLE_ORDER.index(self)

    @property
    def is_local(self) -> bool:
        return self.value.endswith("_LOCAL")

    @property
    def is_tenant_wide(self) -> bool:
        return self.value.endswith("_TENANT")

    @property
    def label(self) -> str:
        return ROLE_LABELS[self]


ROLE_ORDER = list(Role)

# The names people say; the codes stay in the database, the API and the CLI.
ROLE_LABELS = {
    Role.USER: "Member",
    Role.HR_LOCAL: "Local HR",
    Role.HR_TENANT: "Organisation HR",
    Role.ADMIN_LOCAL: "Local admin",
    Role.ADMIN_TENANT: "Organisation admin",
}


def role_label(code: object) -> str:
    """A stored role code in words; anything that is not a role is shown as it is."""
    try:
        return Role(str(code)).label
    except ValueError:
        return "" if code is None else str(code)


# What each "minimum inviter level" means, in the words the settings screen shows.
INVITER_LEVEL_EXPLANATIONS = {
    Role.USER: "All members can invite",
    Role.HR_LOCAL: "HR and admins can invite (local HR and above)",
    Role.HR_TENANT: "Organisation-wide HR and admins can invite",
    Role.ADMIN_LOCAL: "Only admins can invite (local admins and above)",
    Role.ADMIN_TENANT: "Only organisation admins can invite",
}


class MemberStatus(StrEnum):
    ACTIVE = "active"
    PENDING_APPROVAL = "pending_approval"
    DISABLED = "disabled"
