"""The app for a gunicorn started by the tests; its settings come as JSON in the environment."""

import json
import os

from scheduler import create_app

app = create_app(json.loads(os.environ["SCHEDULER_TEST_CONFIG"]))
