"""`flask --app app portal …` commands."""

from __future__ import annotations

import signal
import threading

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext
from sqlmodel import Session

from portal.audit import service as audit
from portal.auth import service as auth
from portal.clock import utcnow
from portal.db import engine
from portal.delivery.smtp import reach
from portal.errors import DomainError
from portal.migrate import upgrade
from portal.orgs import service as orgs
from portal.roles import MemberStatus, Role

portal_cli = AppGroup("portal", help="Member Portal administration.")


def _fail(error: DomainError) -> None:
    raise click.ClickException(error.message)


@portal_cli.command("migrate")
def migrate_command() -> None:
    """Apply the database migrations (safe to run repeatedly)."""
    upgrade(engine())
    click.echo("Database is up to date.")


@portal_cli.command("create-org")
@click.option("--name", required=True)
@click.option("--slug", default=None, help="Short identifier; derived from the name if omitted.")
@click.option("--unit", "units", multiple=True, help="Create a unit (repeatable).")
def create_org_command(name: str, slug: str | None, units: tuple[str, ...]) -> None:
    """Create an organisation (with default invitation settings) and its units."""
    with Session(engine()) as session:
        try:
            org = orgs.create_organization(session, name, slug=slug, now=utcnow())
            for unit in units:
                orgs.create_unit(session, org, unit)
        except DomainError as error:
            _fail(error)
        session.commit()
        click.echo(f"Created organisation {org.name} (slug: {org.slug}).")


@portal_cli.command("create-member")
@click.option("--org", "org_slug", required=True, help="Organisation slug.")
@click.option("--email", required=True)
@click.option("--name", "full_name", required=True)
@click.option("--role", type=click.Choice([r.value for r in Role]), default=Role.USER.value)
@click.option("--unit", default=None, help="Unit name within the organisation.")
@click.password_option(help="Prompted for when omitted.")
def create_member_command(
    org_slug: str, email: str, full_name: str, role: str, unit: str | None, password: str
) -> None:
    """Create an active member with a role (and optionally a unit)."""
    with Session(engine()) as session:
        audit.set_context(session, channel="cli")
        try:
            org = orgs.get_organization(session, org_slug)
            member = orgs.create_member(
                session,
                org,
                email=email,
                full_name=full_name,
                password=password,
                role=Role(role),
                unit=orgs.get_unit(session, org, unit) if unit else None,
                now=utcnow(),
                reach=reach(current_app),
            )
            audit.member_created(session, None, member, member.created_at)
        except DomainError as error:
            _fail(error)
        session.commit()
        click.echo(f"Created {member.role} {member.email} in {org.name}.")


@portal_cli.command("set-password")
@click.argument("email")
@click.password_option(help="Prompted for when omitted.")
def set_password_command(email: str, password: str) -> None:
    """Set a member's password, and sign them out everywhere."""
    with Session(engine()) as session:
        audit.set_context(session, channel="cli")
        try:
            member = auth.member_by_email(session, email)
            auth.change_password(session, member, password, utcnow())
        except DomainError as error:
            _fail(error)
        session.commit()
        click.echo(f"Set a new password for {member.email}; their sessions have ended.")


@portal_cli.command("set-status")
@click.argument("email")
@click.argument("status", type=click.Choice([s.value for s in auth.SETTABLE_STATUSES]))
def set_status_command(email: str, status: str) -> None:
    """Activate or disable a member (disabling signs them out everywhere)."""
    with Session(engine()) as session:
        audit.set_context(session, channel="cli")
        try:
            member = auth.member_by_email(session, email)
            auth.set_member_status(session, None, member, MemberStatus(status), utcnow())
        except DomainError as error:
            _fail(error)
        session.commit()
        click.echo(f"{member.email} is now {member.status}.")


@portal_cli.command("seed-demo")
@click.option("--if-empty", is_flag=True, help="Do nothing when an organisation exists.")
def seed_demo_command(if_empty: bool) -> None:
    """Create the Demo Club with one member of each role, and print the logins."""
    with Session(engine()) as session:
        if orgs.count_organizations(session) and if_empty:
            click.echo("The database already has data; demo not re-created.")
        else:
            try:
                orgs.seed_demo(session, utcnow())
            except DomainError as error:
                _fail(error)
            session.commit()
            click.echo("Created the demo organisation 'Demo Club'.")
    click.echo(f"\nDemo logins (password for all: {orgs.DEMO_PASSWORD}):")
    for email, name, role, unit in orgs.DEMO_MEMBERS:
        click.echo(f"  {role.value:<13} {email:<28} {name} ({unit})")


@portal_cli.command("worker")
@click.option("--once", is_flag=True, help="Deliver what is due now, then exit.")
@with_appcontext
def worker_command(once: bool) -> None:
    """Deliver queued e-mails (run one or more of these in production).

    SIGTERM and Ctrl-C finish the item in hand, then exit.
    """
    from portal.delivery.worker import Worker

    stop = threading.Event()
    worker = Worker(current_app._get_current_object(), stop=stop)  # type: ignore[attr-defined]
    if once:
        outcome = worker.run_once()
        click.echo(
            f"delivered {outcome.delivered}, retrying {outcome.retrying}, failed {outcome.failed}"
        )
        return
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    click.echo(f"Outbox worker {worker.name} started.", err=True)
    worker.run_forever()
    click.echo("Outbox worker stopped.", err=True)


@portal_cli.group("outbox")
def outbox_cli() -> None:
    """Inspect the outbox (queued e-mails and webhook calls)."""


@outbox_cli.command("status")
def outbox_status_command() -> None:
    """Queued, retrying and failed counts, and the oldest waiting item, per kind."""
    from portal.delivery.status import human_age, outbox_status

    with Session(engine()) as session:
        rows = outbox_status(session, utcnow())
    click.echo(f"{'kind':<9}{'queued':>8}{'retrying':>10}{'failed':>8}{'sent':>8}  oldest waiting")
    for row in rows:
        click.echo(
            f"{row.kind:<9}{row.queued:>8}{row.retrying:>10}{row.failed:>8}{row.sent:>8}  "
            f"{human_age(row.oldest_waiting)}"
        )


def register(app: Flask) -> None:
    app.cli.add_command(portal_cli)
