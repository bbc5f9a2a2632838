"""Flask-WTF forms; each checks its own fields, the services check the rules."""
