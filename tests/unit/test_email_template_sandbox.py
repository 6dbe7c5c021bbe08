"""The sandbox for organisations' invitation wording: what it allows, what it refuses (with
the line and a message an admin can act on), and how it renders."""

from __future__ import annotations

import pytest
from jinja2.exceptions import SecurityError

from portal.email_templates import sandbox
from portal.email_templates.service import STARTER_BODY, STARTER_SUBJECT

VALUES = {
    "inviter_name": "Ines Inviter",
    "invitee_name": "Gina Guest",
    "organization_name": "Harbour & Co",
    "organization_description": "Sailing & friends.",
    "personal_message": "Line one <script>alert(1)</script>\nLine two",
    "join_url": "http://portal.test/join?invite_id=abc-DEF_123",
    "expires_on": "14 March 2026",
}


def messages(source: str) -> list[str]:
    return [str(problem) for problem in sandbox.check(source)]


def test_every_placeholder_renders_in_text_and_html():
    body = "\n".join(f"{name}=[{{{{ {name} }}}}]" for name in sandbox.PLACEHOLDERS)
    assert sandbox.check(body) == []
    rendered = sandbox.render("Hi {{ invitee_name }}", body, VALUES)
    assert rendered.subject == "Hi Gina Guest"
    for name, value in VALUES.items():
        assert f"{name}=[{value}]" in rendered.text
    assert "organization_name=[Harbour &amp; Co]" in rendered.html
    assert "expires_on=[14 March 2026]" in rendered.html
    assert (
        'join_url=[<a href="http://portal.test/join?invite_id=abc-DEF_123">'
        "http://portal.test/join?invite_id=abc-DEF_123</a>]"
    ) in rendered.html


def test_the_starter_template_is_allowed_and_reads_well():
    assert sandbox.check(STARTER_SUBJECT) == [] and sandbox.check(STARTER_BODY) == []
    rendered = sandbox.render(STARTER_SUBJECT, STARTER_BODY, {**VALUES, "invitee_name": ""})
    assert rendered.subject == "Ines Inviter invited you to join Harbour & Co"
    assert rendered.text.startswith("Hello there,\n\nInes Inviter invited you to join Harbour")
    assert "\n\n\n" not in rendered.text  # {% if %} lines leave no blank lines behind


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("{{ config }}", "Line 1: {{ config }} is not a placeholder. Use one of:"),
        ("{{ self }}", "Line 1: {{ self }} is not a placeholder"),
        ("{{ cycler }}", "Line 1: {{ cycler }} is not a placeholder"),
        ("{{ request }}", "Line 1: {{ request }} is not a placeholder"),
        ("{{ ''.__class__ }}", "Line 1: {{ ''… }} isn't allowed: placeholders are plain text"),
        ("{{ self.__init__ }}", "Line 1: {{ self… }} isn't allowed"),
        ("{{ cycler.__init__.__globals__ }}", "Line 1: {{ cycler… }} isn't allowed"),
        ("{{ config['SECRET_KEY'] }}", "Line 1: {{ config… }} isn't allowed"),
        ("{{ invitee_name.upper }}", "Line 1: {{ invitee_name… }} isn't allowed"),
        ("{{ join_url.__len__() }}", "Line 1: templates can't call functions or methods."),
        ("{{ range(10) }}", "Line 1: templates can't call functions or methods."),
        ("{{ lipsum() }}", "Line 1: templates can't call functions or methods."),
        ("{% for x in invitee_name %}{{ x }}{% endfor %}", "Line 1: {% for %} isn't allowed."),
        ("{% set x = 1 %}", "Line 1: {% set %} isn't allowed."),
        ('{% include "emails/_layout.html" %}', "Line 1: {% include %} isn't allowed."),
        ('{% import "emails/_macros.html" as m %}', "Line 1: {% import %} isn't allowed."),
        ('{% extends "base.html" %}', "Line 1: {% extends %} isn't allowed."),
        ("{% macro m() %}x{% endmacro %}", "Line 1: {% macro %} isn't allowed."),
        ("{% block b %}x{% endblock %}", "Line 1: {% block %} isn't allowed."),
        ("{% autoescape false %}x{% endautoescape %}", "Line 1: {% autoescape %} isn't allowed."),
        ('{{ invitee_name | attr("__class__") }}', "Line 1: the filter |attr isn't available."),
        ("{{ invitee_name | safe }}", "Line 1: the filter |safe isn't available."),
        ('{{ invitee_name | format("%s") }}', "Line 1: the filter |format isn't available."),
        ("{{ join_url | upper }}", "Line 1: {{ join_url }} must be written as it is"),
        ("{{ invitee_name | upper(1) }}", "Line 1: |upper takes no arguments."),
        ("{{ invitee_name | default(inviter_name.__class__) }}", 'write |default("text")'),
        ('{{ "x" * 999999999 }}', "Line 1: only placeholders, text in quotes, and the filters"),
        ("{{ invitee_name is defined }}", "Line 1: only placeholders, text in quotes"),
        ("{% do invitee_name %}", "Line 1: this isn't valid template syntax: Encountered unknown"),
    ],
)
def test_anything_beyond_placeholders_and_if_is_refused_with_a_message(source, expected):
    found = messages(source)
    assert found, f"{source!r} was allowed"
    assert any(message.startswith(expected) or expected in message for message in found), found


def test_problems_name_the_line_they_are_on():
    body = "Hello {{ invitee_name }},\n\nWelcome!\n{{ config }}\n"
    assert messages(body) == [
        "Line 4: {{ config }} is not a placeholder. Use one of: {{ inviter_name }}, "
        "{{ invitee_name }}, {{ organization_name }}, {{ organization_description }}, "
        "{{ personal_message }}, {{ join_url }}, {{ expires_on }}."
    ]


def test_a_syntax_error_reports_its_line():
    assert messages("Hello,\n\n{{ invitee_name }\nBye") == [
        "Line 3: this isn't valid template syntax: unexpected '}'."
    ]
    assert messages("Hello\n{% if personal_message %}\n{{ personal_message }}") == [
        "Line 3: this isn't valid template syntax: the template ends inside an {% if %}: "
        "close it with {% endif %}."
    ]


def test_if_elif_else_not_and_or_over_placeholders_are_allowed():
    body = (
        "{% if personal_message and not invitee_name %}A{% elif invitee_name or inviter_name %}"
        "B{% else %}C{% endif %}"
    )
    assert sandbox.check(body) == []
    assert sandbox.render("s", body, VALUES).text == "B"
    assert sandbox.render("s", body, {**VALUES, "invitee_name": ""}).text == "A"


def test_the_allowed_filters_work_and_default_fills_an_empty_value():
    body = '{{ invitee_name | upper }} {{ inviter_name | lower }} {{ invitee_name | default("x") }}'
    assert sandbox.render("s", body, VALUES).text == "GINA GUEST ines inviter Gina Guest"
    empty = sandbox.render("s", '{{ invitee_name | default("there") | title }}', {})
    assert empty.text == "There"


def test_html_escapes_values_and_keeps_the_message_line_breaks():
    rendered = sandbox.render("s", "{{ personal_message }}", VALUES)
    assert "<script>" not in rendered.html
    assert rendered.html == ("<p>Line one &lt;script&gt;alert(1)&lt;/script&gt;<br>\nLine two</p>")
    # The text version is plain text: nothing is escaped there.
    assert rendered.text == "Line one <script>alert(1)</script>\nLine two"


def test_the_body_is_text_so_markup_typed_by_an_admin_is_shown_not_run():
    rendered = sandbox.render("s", "<b>Hi</b> & <img src=x onerror=alert(1)>", VALUES)
    assert rendered.html == "<p>&lt;b&gt;Hi&lt;/b&gt; &amp; &lt;img src=x onerror=alert(1)&gt;</p>"
    assert rendered.text == "<b>Hi</b> & <img src=x onerror=alert(1)>"


def test_blank_lines_make_paragraphs_in_html():
    rendered = sandbox.render("s", "One\nstill one\n\n\nTwo", VALUES)
    assert rendered.html == "<p>One<br>\nstill one</p>\n<p>Two</p>"
    assert rendered.text == "One\nstill one\n\nTwo"


def test_the_link_is_kept_out_of_subjects():
    assert sandbox.check("Join: {{ join_url }}") == []
    [problem] = sandbox.check("Join: {{ join_url }}", subject=True)
    assert str(problem).startswith("Line 1: {{ join_url }} can't be in the subject")
    with pytest.raises(sandbox.TemplateRefused):
        sandbox.render("{% if join_url %}x{% endif %}", "b", VALUES)


def test_the_subject_is_one_line_even_if_a_value_has_line_breaks():
    rendered = sandbox.render("From {{ personal_message }}", "b", VALUES)
    assert rendered.subject == "From Line one <script>alert(1)</script> Line two"


@pytest.mark.parametrize(
    "body", ["{{ config }}", "{{ ''.__class__.__mro__ }}", "{% for x in y %}{% endfor %}", "{{ x"]
)
def test_render_checks_again_and_only_ever_raises_template_refused(body):
    # A template saved before a rule existed must not reach Jinja, nor crash the caller.
    with pytest.raises(sandbox.TemplateRefused) as refused:
        sandbox.render("Subject", body, VALUES)
    assert refused.value.problems


def test_at_most_a_handful_of_problems_are_reported():
    body = "\n".join("{{ nope%d }}" % n for n in range(20))  # noqa: UP031
    assert len(sandbox.check(body)) == sandbox.MAX_PROBLEMS


def test_past_the_check_there_are_no_globals_to_reach():
    # The second wall, should the check ever let something through: no app config, no
    # url_for, none of Jinja's own globals.
    source = "{{ config }}{{ request }}{{ cycler }}{{ range }}{{ lipsum }}{{ namespace }}"
    assert sandbox._compiled(source, False).render(VALUES) == ""


@pytest.mark.parametrize(
    "source", ["{{ ''.__class__.__mro__ }}", "{{ invitee_name.__init__.__globals__ }}"]
)
def test_past_the_check_jinjas_sandbox_refuses_underscored_attributes(source):
    with pytest.raises(SecurityError):
        sandbox._compiled(source, False).render(VALUES)
