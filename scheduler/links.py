"""Absolute links to the public site, for feeds and mails, with or without a request."""

from urllib.parse import urlsplit

from flask import current_app, g, has_request_context, request

DEVELOPMENT_BASE_URL = "http://127.0.0.1:5000"
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")


def public_base_url() -> str:
    """PUBLIC_BASE_URL; unset in development, the address this request came in on."""
    configured = current_app.config.get("PUBLIC_BASE_URL")
    if configured:
        return configured
    # Only a loopback address: on a server left in development mode, a visitor's Host header
    # would otherwise choose where personal links in mails point.
    if (current_app.config["SCHEDULER_ENV"] == "development" and has_request_context()
            and request.host.rsplit(":", 1)[0] in LOOPBACK_HOSTS):
        return request.host_url
    return DEVELOPMENT_BASE_URL


def public_url(endpoint: str, base_url: str | None = None, **values) -> str:
    """The URL of ``endpoint`` on ``base_url``, by default the public base URL (see
    ``public_base_url``)."""
    base = urlsplit(base_url or public_base_url())
    adapter = current_app.url_map.bind(
        base.netloc, script_name=base.path or "/", url_scheme=base.scheme
    )
    return adapter.build(endpoint, values, force_external=True)


def activity_url(slug: str) -> str:
    """The public page of an activity; built once per request, as a feed needs hundreds."""
    prefix = g.get("activity_url_prefix")
    if prefix is None:
        prefix = g.activity_url_prefix = public_url("events.detail", slug="-").removesuffix("-")
    return prefix + slug


def organiser() -> dict:
    """The association as schema.org's organizer of every activity."""
    return {"@type": "Organization", "name": current_app.config["ORGANISATION_NAME"],
            "url": public_base_url(), "email": current_app.config["HELPDESK_EMAIL"]}
