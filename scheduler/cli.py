"""The flask commands: seed-demo (the schema itself comes from the migrations)."""

import click
from flask import Flask

from scheduler import demo


def register_commands(app: Flask) -> None:
    """Attach the project's commands to ``flask``."""

    @app.cli.command("seed-demo")
    @click.option("--if-empty", is_flag=True, help="Only seed when there are no activities yet.")
    def seed_demo(if_empty: bool) -> None:
        """Fill the database with realistic Dutch demo activities; running it twice adds nothing."""
        created = demo.seed(only_if_empty=if_empty)
        click.echo(f"Demo: {created} activiteiten toegevoegd.")
