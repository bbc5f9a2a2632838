"""The flask commands: seed-demo, mail, staff, privacy and backup."""

import time

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from scheduler import demo
from scheduler.errors import SchedulerError
from scheduler.extensions import db
from scheduler.services import backup, evaluations, notifications, outbox, privacy
from scheduler.services import staff as staff_service

mail_commands = AppGroup("mail", help="Deliver the outbox and queue reminders.")


@mail_commands.command("send")
@click.option("--loop", is_flag=True, help="Keep running and send new mail as it is queued.")
@click.option("--interval", default=10.0, show_default=True, help="Seconds between rounds.")
def send_mail(loop: bool, interval: float) -> None:
    """Send the mails that are due; with --loop, keep doing so until stopped."""
    while True:
        transport = outbox.transport_from_config(current_app.config, current_app.instance_path)
        report = outbox.deliver_pending(transport)
        db.session.remove()
        if report.sent or report.retrying or report.failed or report.postponed or not loop:
            click.echo(f"Mail: {report.sent} verzonden, {report.retrying} later opnieuw, "
                       f"{report.failed} mislukt, {report.postponed} even uitgesteld.")
        if not loop:
            return
        time.sleep(interval)


@mail_commands.command("reminders")
@click.option("--days", type=int, default=None, help="Days ahead; default MAIL_REMINDER_DAYS.")
def queue_reminders(days: int | None) -> None:
    """Queue reminders for activities starting soon; safe to run as often as you like."""
    queued = notifications.queue_reminders(days_before=days)
    click.echo(f"Herinneringen: {queued} in de wachtrij gezet.")


@mail_commands.command("evaluations")
def queue_evaluations() -> None:
    """Invite everyone present to evaluate the activities that ended; run daily, safe to repeat."""
    invited = evaluations.queue_invitations()
    click.echo(f"Evaluaties: {invited} uitnodigingen in de wachtrij gezet.")


privacy_commands = AppGroup("privacy", help="Retention of personal data.")


@privacy_commands.command("purge")
@click.option("--dry-run", is_flag=True,
              help="Only count what a purge would do now; change nothing.")
def purge_personal_data(dry_run: bool) -> None:
    """Anonymise registrations PRIVACY_RETENTION_MONTHS after their activity, delete expired
    attestations, closed evaluation links and unused material files; safe to run daily."""
    report = privacy.purge(months=current_app.config["PRIVACY_RETENTION_MONTHS"], dry_run=dry_run)
    if dry_run:
        # What a purge would do now: nothing is removed, so no "verwijderd" here.
        click.echo(f"Privacy (proef, niets gewijzigd): een purge zou nu "
                   f"{report.registrations} inschrijvingen anonimiseren en "
                   f"{report.messages} mails, {report.people} personen, {report.requests} "
                   f"aanvragen, {report.needs} noden, {report.attestations} verlopen attesten, "
                   f"{report.evaluation_links} evaluatielinks en {report.material_files} "
                   f"losse bestanden verwijderen of wissen.")
    else:
        click.echo(f"Privacy: {report.registrations} inschrijvingen geanonimiseerd, "
                   f"{report.messages} mails verwijderd, {report.people} personen verwijderd, "
                   f"{report.requests} aanvragen, {report.needs} noden gewist, "
                   f"{report.attestations} verlopen attesten, {report.evaluation_links} "
                   f"evaluatielinks en {report.material_files} losse bestanden verwijderd.")


staff_commands = AppGroup("staff", help="Staff accounts.")


@staff_commands.command("create")
@click.argument("email")
@click.option("--admin", is_flag=True, help="May manage staff and read the audit log.")
@click.option("--name", default="", help="The colleague's name.")
@click.password_option(help="Asked for when not given.")
def create_staff(email: str, admin: bool, name: str, password: str) -> None:
    """Create a staff account with a password."""
    try:
        user = staff_service.create_staff(email, password, is_admin=admin, name=name)
    except SchedulerError as refusal:
        raise click.ClickException(refusal.message) from refusal
    click.echo(f"Account gemaakt voor {user.email}{' (beheerder)' if admin else ''}.")


backup_commands = AppGroup("backup", help="Copies of the database that restore.")


@backup_commands.command("create")
@click.argument("path", type=click.Path(dir_okay=False))
def create_backup(path: str) -> None:
    """Copy the database to PATH, consistently, while the app keeps running."""
    try:
        written = backup.create(db.engine, path)
    except backup.BackupError as refusal:
        raise click.ClickException(refusal.message) from refusal
    click.echo(f"Back-up geschreven naar {written} ({written.stat().st_size} bytes).")


@backup_commands.command("restore")
@click.argument("path")
@click.option("--force", is_flag=True, help="Replace a database that already holds data.")
def restore_backup(path: str, force: bool) -> None:
    """Put the SQLite backup at PATH in place of the database (stop the app first)."""
    try:
        backup.restore(db.engine, path, force=force)
    except backup.BackupError as refusal:
        raise click.ClickException(refusal.message) from refusal
    click.echo(f"Back-up {path} teruggezet.")


def register_commands(app: Flask) -> None:
    """Attach the project's commands to ``flask``."""
    app.cli.add_command(backup_commands)
    app.cli.add_command(mail_commands)
    app.cli.add_command(staff_commands)
    app.cli.add_command(privacy_commands)

    @app.cli.command("seed-demo")
    @click.option("--if-empty", is_flag=True, help="Only seed when there are no activities yet.")
    def seed_demo(if_empty: bool) -> None:
        """Fill the database with realistic Dutch demo activities; running it twice adds nothing."""
        created = demo.seed(only_if_empty=if_empty)
        click.echo(f"Demo: {created} activiteiten toegevoegd.")
