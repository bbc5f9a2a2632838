"""Domain services: the rules of the programme, callable without a Flask request."""
