"""Role names as people say them; the codes stay what the API and the database hold."""

from __future__ import annotations

import pytest

from portal.roles import INVITER_LEVEL_EXPLANATIONS, ROLE_LABELS, Role, role_label

CODES = [role.value for role in Role]


def test_every_role_has_the_words_people_say() -> None:
    assert {role: role.label for role in Role} == {
        Role.USER: "Member",
        Role.HR_LOCAL: "Local HR",
        Role.HR_TENANT: "Organisation HR",
        Role.ADMIN_LOCAL: "Local admin",
        Role.ADMIN_TENANT: "Organisation admin",
    }
    assert set(ROLE_LABELS) == set(Role)


def test_the_codes_stay_the_codes() -> None:
    assert CODES == ["USER", "HR_LOCAL", "HR_TENANT", "ADMIN_LOCAL", "ADMIN_TENANT"]


@pytest.mark.parametrize("role", list(Role))
def test_role_label_takes_a_stored_code_or_a_role(role: Role) -> None:
    assert role_label(role.value) == role.label
    assert role_label(role) == role.label


@pytest.mark.parametrize(("value", "shown"), [(None, ""), ("", ""), ("guest", "guest")])
def test_role_label_shows_anything_else_as_it_is(value: object, shown: str) -> None:
    assert role_label(value) == shown


def test_no_label_or_explanation_names_a_code() -> None:
    for text in [*ROLE_LABELS.values(), *INVITER_LEVEL_EXPLANATIONS.values()]:
        assert not any(code in text for code in CODES), text
