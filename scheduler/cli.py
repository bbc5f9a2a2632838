"""The flask commands: seed-demo and mail (the schema itself comes from the migrations)."""

import time

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from scheduler import demo
from scheduler.extensions import db
from scheduler.services import mail

mail_commands = AppGroup("mail", help="Deliver the outbox and queue reminders.")


@mail_commands.command("send")
@click.option("--loop", is_flag=True, help="Keep running and send new mail as it is queued.")
@click.option("--interval", default=10.0, show_default=True, help="Seconds between rounds.")
def send_mail(loop: bool, interval: float) -> None:
    """Send the mails that are due; with --loop, keep doing so until stopped."""
    while True:
        transport = mail.transport_from_config(current_app.config, current_app.instance_path)
        report = mail.deliver_pending(transport)
        db.session.remove()
        if report.sent or report.retrying or report.failed or not loop:
            click.echo(f"Mail: {report.sent} verzonden, {report.retrying} later opnieuw, "
                       f"{report.failed} mislukt.")
        if not loop:
            return
        time.sleep(interval)


@mail_commands.command("reminders")
@click.option("--days", type=int, default=None, help="Days ahead; default MAIL_REMINDER_DAYS.")
def queue_reminders(days: int | None) -> None:
    """Queue reminders for activities starting soon; safe to run as often as you like."""
    queued = mail.queue_reminders(days_before=days)
    click.echo(f"Herinneringen: {queued} in de wachtrij gezet.")


def register_commands(app: Flask) -> None:
    """Attach the project's commands to ``flask``."""
    app.cli.add_command(mail_commands)

    @app.cli.command("seed-demo")
    @click.option("--if-empty", is_flag=True, help="Only seed when there are no activities yet.")
    def seed_demo(if_empty: bool) -> None:
        """Fill the database with realistic Dutch demo activities; running it twice adds nothing."""
        created = demo.seed(only_if_empty=if_empty)
        click.echo(f"Demo: {created} activiteiten toegevoegd.")
