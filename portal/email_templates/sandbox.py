"""Checking and rendering an organisation's own invitation wording.

Templates are written by admins and rendered by the worker with real data, so they are held
to a whitelist rather than a blacklist: the only constructs allowed are `{{ placeholder }}`
(optionally through a few string filters) and `{% if placeholder %} … {% endif %}`. The
check walks Jinja's AST, so nothing reaches the code generator that could touch Python
internals (`''.__class__`, `self`, `cycler`, calls, loops…). Jinja's sandbox and an
environment without globals or extra filters are a second wall behind the first, and the
check runs again before every render, so a template saved under older rules can't slip by.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

from jinja2 import Template, TemplateSyntaxError, meta, nodes
from jinja2.filters import FILTERS as JINJA_FILTERS
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import Markup, escape

from portal.text import nl2br

PLACEHOLDERS = (
    "inviter_name",
    "invitee_name",
    "organization_name",
    "organization_description",
    "personal_message",
    "join_url",
    "expires_on",
)
# String-in, string-out filters only; `default` may take literal arguments.
FILTERS = ("upper", "lower", "title", "capitalize", "trim", "default", "e")
# The link carries the secret: case-sensitive (no filter may touch it), and kept out of
# subjects.
UNFILTERED = frozenset({"join_url"})
MAX_PROBLEMS = 5

_ALLOWED_LIST = ", ".join(f"{{{{ {name} }}}}" for name in PLACEHOLDERS)
_STATEMENT_NAMES = {
    nodes.For: "for",
    nodes.Assign: "set",
    nodes.AssignBlock: "set",
    nodes.Include: "include",
    nodes.Import: "import",
    nodes.FromImport: "from … import",
    nodes.Extends: "extends",
    nodes.Block: "block",
    nodes.Macro: "macro",
    nodes.CallBlock: "call",
    nodes.FilterBlock: "filter",
    nodes.With: "with",
    nodes.Scope: "autoescape",
    nodes.ScopedEvalContextModifier: "autoescape",
    nodes.EvalContextModifier: "autoescape",
}


@dataclass(frozen=True)
class Problem:
    """Something that stops a template from being saved, said so an admin can fix it."""

    message: str
    line: int | None = None

    def __str__(self) -> str:
        return f"Line {self.line}: {self.message}" if self.line else self.message


class TemplateRefused(Exception):
    """The template breaks the rules (or failed to render): nothing may be sent with it."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems


def _environment(*, html: bool) -> ImmutableSandboxedEnvironment:
    env = ImmutableSandboxedEnvironment(
        autoescape=html,
        # `{% if %}` on a line of its own leaves no blank line behind.
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )
    # Nothing from the outside world: no app config, no url_for, no cycler/joiner/range.
    env.globals.clear()
    env.filters = {name: JINJA_FILTERS[name] for name in FILTERS}
    env.tests = {}
    return env


_HTML = _environment(html=True)
_TEXT = _environment(html=False)


# --- checking -----------------------------------------------------------------------------


def check(source: str, *, subject: bool = False) -> list[Problem]:
    """Every reason `source` (a body, or a `subject`) can't be used, first ones first (at
    most MAX_PROBLEMS)."""
    try:
        tree = _TEXT.parse(source)
    except TemplateSyntaxError as error:
        message = f"this isn't valid template syntax: {_syntax_message(error)}"
        return [Problem(message, error.lineno)]
    problems: list[Problem] = []
    _check_nodes(tree.body, problems)
    if subject:
        # Subjects end up in mail logs and lock-screen notifications; the link is a secret.
        problems += [
            Problem(
                f"{{{{ {name.name} }}}} can't be in the subject: the link is secret, and "
                "subjects show in mail logs and notifications. The message always has the "
                "Join button.",
                name.lineno,
            )
            for name in tree.find_all(nodes.Name)
            if name.name in UNFILTERED
        ]
    if not problems:
        # A second opinion from Jinja itself. It can't be the only one: it doesn't count
        # `self` or the environment's globals (cycler, range…) as undeclared.
        problems = [
            _unknown(name)
            for name in sorted(meta.find_undeclared_variables(tree) - set(PLACEHOLDERS))
        ]
    return _dedupe(problems)[:MAX_PROBLEMS]


def _syntax_message(error: TemplateSyntaxError) -> str:
    message = (error.message or "").strip()
    if message.startswith("Unexpected end of template") and "closed is 'if'" in message:
        return "the template ends inside an {% if %}: close it with {% endif %}."
    if message.startswith("Encountered unknown tag"):
        message += " Only {% if %}, {% elif %}, {% else %} and {% endif %} are available."
    return message.rstrip(".") + "."


def _dedupe(problems: list[Problem]) -> list[Problem]:
    seen: set[Problem] = set()
    return [p for p in problems if not (p in seen or seen.add(p))]


def _unknown(name: str, line: int | None = None) -> Problem:
    return Problem(f"{{{{ {name} }}}} is not a placeholder. Use one of: {_ALLOWED_LIST}.", line)


def _check_nodes(body: list[nodes.Node], problems: list[Problem]) -> None:
    for node in body:
        if isinstance(node, nodes.Output):
            for child in node.nodes:
                if not isinstance(child, nodes.TemplateData):
                    _check_expression(child, problems)
        elif isinstance(node, nodes.If):
            _check_expression(node.test, problems)
            _check_nodes(node.body, problems)
            for branch in node.elif_:
                _check_expression(branch.test, problems)
                _check_nodes(branch.body, problems)
            _check_nodes(node.else_, problems)
        else:
            tag = _STATEMENT_NAMES.get(type(node), type(node).__name__.lower())
            problems.append(
                Problem(
                    f"{{% {tag} %}} isn't allowed. Templates can use placeholders such as "
                    "{{ invitee_name }} and {% if placeholder %} … {% endif %}, nothing else.",
                    _line_of(node),
                )
            )


def _line_of(node: nodes.Node) -> int | None:
    """A node's line; wrappers such as {% autoescape %}'s Scope have none, their body has."""
    for candidate in (node, *node.find_all(nodes.Node)):
        if getattr(candidate, "lineno", None):
            return candidate.lineno
    return None


def _check_expression(node: nodes.Node, problems: list[Problem]) -> None:
    if isinstance(node, nodes.Name):
        if node.name not in PLACEHOLDERS:
            problems.append(_unknown(node.name, node.lineno))
    elif isinstance(node, nodes.Const):
        if not isinstance(node.value, str | int | float | bool | None):
            problems.append(Problem("only text and numbers can be written here.", node.lineno))
    elif isinstance(node, nodes.Not):
        _check_expression(node.node, problems)
    elif isinstance(node, nodes.And | nodes.Or):
        _check_expression(node.left, problems)
        _check_expression(node.right, problems)
    elif isinstance(node, nodes.Filter):
        _check_filter(node, problems)
    elif isinstance(node, nodes.Getattr | nodes.Getitem):
        problems.append(
            Problem(
                f"{{{{ {_root_name(node)}… }}}} isn't allowed: placeholders are plain text, "
                "write them as {{ placeholder }} without a dot or brackets after the name.",
                node.lineno,
            )
        )
    elif isinstance(node, nodes.Call):
        problems.append(Problem("templates can't call functions or methods.", node.lineno))
    else:
        problems.append(
            Problem(
                "only placeholders, text in quotes, and the filters "
                f"{', '.join('|' + f for f in FILTERS)} can be used inside {{{{ }}}} or "
                "{% if %}.",
                node.lineno,
            )
        )


def _root_name(node: nodes.Node) -> str:
    """What an attribute or item access starts from, to quote it back (`''`, `self`…)."""
    while isinstance(node, nodes.Getattr | nodes.Getitem | nodes.Call):
        node = node.node
    if isinstance(node, nodes.Name):
        return node.name
    if isinstance(node, nodes.Const):
        return repr(node.value)
    return ""


def _check_filter(node: nodes.Filter, problems: list[Problem]) -> None:
    if node.name not in FILTERS:
        problems.append(
            Problem(
                f"the filter |{node.name} isn't available. Use one of: "
                f"{', '.join('|' + f for f in FILTERS)}.",
                node.lineno,
            )
        )
    elif node.kwargs or node.dyn_args or node.dyn_kwargs:
        problems.append(Problem(f"|{node.name} takes no named arguments here.", node.lineno))
    elif node.name == "default":
        if len(node.args) > 2 or not all(isinstance(a, nodes.Const) for a in node.args):
            problems.append(
                Problem('write |default("text"), with the text in quotes.', node.lineno)
            )
    elif node.args:
        problems.append(Problem(f"|{node.name} takes no arguments.", node.lineno))
    target = node.node
    if isinstance(target, nodes.Name) and target.name in UNFILTERED:
        problems.append(
            Problem(
                f"{{{{ {target.name} }}}} must be written as it is, without filters.",
                node.lineno,
            )
        )
    if target is not None:
        _check_expression(target, problems)
    for arg in node.args:
        _check_expression(arg, problems)


# --- rendering ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Rendered:
    subject: str  # one line; empty if the template rendered nothing
    html: Markup  # the body as HTML paragraphs, to go inside the portal's layout
    text: str


@lru_cache(maxsize=256)
def _compiled(source: str, html: bool) -> Template:
    """Compile a checked source. In HTML, the literal text is escaped too: the body is
    plain text that the portal lays out, not markup the organisation writes."""
    env = _HTML if html else _TEXT
    tree = env.parse(source)
    if html:
        for data in tree.find_all(nodes.TemplateData):
            data.data = str(escape(data.data))
    return env.from_string(tree)


@lru_cache(maxsize=256)
def _checked(source: str, subject: bool) -> tuple[Problem, ...]:
    """check() once per template text: it parses the template, and the worker renders the
    same organisation's template for every invitation in a batch."""
    return tuple(check(source, subject=subject))


def render(subject: str, body: str, values: Mapping[str, str]) -> Rendered:
    """Render a template with the placeholder values. Raises TemplateRefused, never anything
    else: the caller (the worker) falls back to the built-in e-mail."""
    problems = [*_checked(subject, True), *_checked(body, False)]
    if problems:
        raise TemplateRefused(problems)
    # Empty values are left out, so `{{ invitee_name | default("there") }}` does what it says.
    present = {name: values[name] for name in PLACEHOLDERS if values.get(name)}
    html_values: dict[str, str | Markup] = dict(present)
    if message := present.get("personal_message"):
        html_values["personal_message"] = nl2br(message)
    if url := present.get("join_url"):
        html_values["join_url"] = Markup('<a href="{0}">{0}</a>').format(url)
    try:
        subject_text = _compiled(subject, False).render(present)
        text = _compiled(body, False).render(present)
        html = _compiled(body, True).render(html_values)
    except Exception as error:  # whatever happened, the worker must not crash on a template
        # Only the kind of error: its message could quote a value, and join_url is a secret.
        problem = Problem(f"the template could not be rendered ({type(error).__name__}).")
        raise TemplateRefused([problem]) from error
    return Rendered(
        subject=" ".join(subject_text.split()),
        html=_paragraphs(html),
        text=_tidy_text(text),
    )


_BLANK_LINES = re.compile(r"\n[ \t]*(?:\n[ \t]*)+")
_BARE_NEWLINE = re.compile(r"(?<!<br>)\n")


def _paragraphs(html: str) -> Markup:
    """Blank lines separate paragraphs; a single line break stays a line break. `html` is
    the sandbox's output with autoescaping on and its literal text escaped: safe to mark."""
    blocks = [b.strip() for b in _BLANK_LINES.split(html.replace("\r\n", "\n").strip())]
    paragraphs = ("<p>" + _BARE_NEWLINE.sub("<br>\n", b) + "</p>" for b in blocks if b)
    return Markup("\n".join(paragraphs))  # noqa: S704 (escaped above, see the docstring)


def _tidy_text(text: str) -> str:
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").strip().split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines))
