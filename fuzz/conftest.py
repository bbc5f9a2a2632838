"""The fuzzing runs use the tests' databases and factories; `make fuzz` runs them."""

pytest_plugins = ["tests.fixtures.databases", "tests.fixtures.factories"]
